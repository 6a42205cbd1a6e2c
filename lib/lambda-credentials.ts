/**
 * An esbuild plugin: in a Lambda bundle, the AWS SDK's default credential provider reads the
 * credentials Lambda puts in the environment, and loads the SDK's whole provider chain only when
 * there are none.
 *
 * Why: every client's default provider (`@aws-sdk/credential-provider-node`) reaches SSO, shared
 * config files, processes, web identity and the metadata services through `import()`s. Each is an
 * entry point of the split bundle, and the code they share with a cold start's path (config file
 * parsing, property providers, the HTTP stack) is cut into a dozen small chunks that every cold
 * start loads one by one. Lambda always sets AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
 * AWS_SESSION_TOKEN from the function's role, and the SDK's chain returns exactly those
 * (`fromEnv`, its first link). `npm run bench` measures the lever side by side.
 *
 * Same answer as the SDK in every case: the environment's credentials when the chain would take
 * them (they are set and no AWS_PROFILE or `profile` asks to skip them); otherwise the SDK's own
 * chain, unchanged, from a file of its own beside the code that imports it (a separate bundle, not
 * a chunk: it shares nothing with the cold start's code, so it cuts nothing into pieces).
 */
import { dirname, join } from 'node:path';
import { build as esbuild, type Plugin } from 'esbuild';

const NAMESPACE = 'facematch-lambda-credentials';
const PROVIDER_PACKAGE = '@aws-sdk/credential-provider-node';

/** The SDK's whole chain, written beside the output file that imports it. */
export const CREDENTIAL_CHAIN_FILE = 'aws-credential-chain.mjs';

const PROVIDER_SOURCE = `
import { ENV_KEY, ENV_SECRET, fromEnv } from "@aws-sdk/credential-provider-env";
export const defaultProvider = (init = {}) => {
  const profile = init.profile ?? process.env.AWS_PROFILE;
  if (!profile && process.env[ENV_KEY] && process.env[ENV_SECRET]) return fromEnv(init);
  let chain;
  return async (properties) => {
    chain ??= (await import("./${CREDENTIAL_CHAIN_FILE}")).defaultProvider(init);
    return chain(properties);
  };
};
`;

export function lambdaCredentialsPlugin(): Plugin {
  return {
    name: 'facematch-lambda-credentials',
    setup(build) {
      const options = build.initialOptions;
      options.metafile = true;
      const workingDir = options.absWorkingDir ?? process.cwd();

      build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, (args) =>
        args.namespace === NAMESPACE ? undefined : { path: PROVIDER_PACKAGE, namespace: NAMESPACE },
      );
      build.onResolve(
        { filter: new RegExp(`^\\./${CREDENTIAL_CHAIN_FILE.replace('.', '\\.')}$`) },
        (args) => (args.namespace === NAMESPACE ? { path: args.path, external: true } : undefined),
      );
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({
        contents: PROVIDER_SOURCE,
        loader: 'js',
        resolveDir: workingDir,
      }));

      build.onEnd(async (result) => {
        if (result.errors.length > 0 || !result.metafile) return;
        const importers = Object.entries(result.metafile.outputs).filter(([, output]) =>
          Object.keys(output.inputs).some((input) => input.startsWith(`${NAMESPACE}:`)),
        );
        for (const [importer] of importers) {
          const chain = await esbuild({
            entryPoints: [PROVIDER_PACKAGE],
            outfile: join(workingDir, dirname(importer), CREDENTIAL_CHAIN_FILE),
            absWorkingDir: workingDir,
            bundle: true,
            platform: 'node',
            format: 'esm',
            target: options.target,
            minify: options.minify,
            sourcemap: options.sourcemap,
            sourcesContent: options.sourcesContent,
            mainFields: options.mainFields,
            banner: options.banner,
            write: options.write,
            metafile: true,
            logLevel: 'error',
          });
          result.outputFiles?.push(...(chain.outputFiles ?? []));
          Object.assign(result.metafile.inputs, chain.metafile.inputs);
          Object.assign(result.metafile.outputs, chain.metafile.outputs);
        }
      });
    },
  };
}
