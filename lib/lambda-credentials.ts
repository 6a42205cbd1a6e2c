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
 * The same answer as the SDK's, decided at each call as its chain decides: the environment's
 * credentials when the chain would take them (they are set and no AWS_PROFILE or `profile` asks to
 * skip them); otherwise the SDK's own chain, unchanged, from a file of its own beside the code that
 * imports it (a separate bundle, not a chunk: it shares nothing with the cold start's code, so it
 * cuts nothing into pieces). test/infra/bundle-runs.test.ts runs all three cases: environment
 * (without the chain's file), a profile, a profile beside environment credentials.
 */
import { dirname, join } from 'node:path';
import { build as esbuild, type Plugin } from 'esbuild';

const NAMESPACE = 'facematch-lambda-credentials';
const PROVIDER_PACKAGE = '@aws-sdk/credential-provider-node';

/** The SDK's whole chain, written beside the output file that imports it. */
export const CREDENTIAL_CHAIN_FILE = 'aws-credential-chain.mjs';

/**
 * Decided at each call, as the SDK's chain decides: the environment's credentials when they are set
 * and no profile is asked for, else the chain (loaded once; a failed load is tried again).
 */
const PROVIDER_SOURCE = `
import { ENV_KEY, ENV_SECRET, fromEnv } from "@aws-sdk/credential-provider-env";
export const defaultProvider = (init = {}) => {
  let chain;
  const fullChain = () =>
    (chain ??= import("./${CREDENTIAL_CHAIN_FILE}")
      .then((module) => module.defaultProvider(init))
      .catch((error) => {
        chain = undefined;
        throw error;
      }));
  return async (properties) => {
    const profile = init.profile ?? process.env.AWS_PROFILE;
    if (!profile && process.env[ENV_KEY] && process.env[ENV_SECRET]) return fromEnv(init)(properties);
    return (await fullChain())(properties);
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
          Object.assign(result.metafile.outputs, chain.metafile.outputs);
          // The main build's view of a shared input (its imports through the plugins) stays.
          for (const [path, input] of Object.entries(chain.metafile.inputs)) {
            result.metafile.inputs[path] ??= input;
          }
        }
      });
    },
  };
}
