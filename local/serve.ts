/**
 * `facematch serve`: starts the embedded runtime, prints what a new user needs to try it, and
 * stops everything on Ctrl-C.
 */
import { loadRegistry, referenceSelfie } from './idmeta-simulator/registry.ts';
import { startLocalRuntime } from './server.ts';

/** How often a server checks that whoever started it is still there. */
const ORPHAN_CHECK_MS = 1_000;

export async function serve(): Promise<void> {
  const local = await startLocalRuntime();
  const registry = loadRegistry();
  const person = registry.people[0];
  const lines = [
    '',
    'facematch is running (everything on 127.0.0.1)',
    `  API            ${local.apiUrl}   (POST /verifications, GET /verifications/{id}, GET /health, GET /openapi.json)`,
    `  Console        ${local.consoleUrl}   (open it in a browser: verify, look up, review)`,
    `  S3             ${local.s3Endpoint}   bucket ${local.bucket}`,
    `  DynamoDB       ${local.dynamoEndpoint}   table ${local.tableName}`,
    `  IDmeta         ${local.idmetaUrl}${local.simulator ? '   (simulator)' : ''}`,
    ...(local.webhooks
      ? [
          `  Webhooks       ${local.webhooks.endpoint.url}   (signed; facematch webhooks deliveries)`,
        ]
      : []),
    '',
  ];
  if (person && local.simulator) {
    const selfie = referenceSelfie(0, 0, registry);
    const dob = person.date_of_birth;
    lines.push(
      'Try it (a fictional person from the simulator registry):',
      `  curl -s ${local.apiUrl}/verifications -H 'content-type: application/json' \\`,
      `    -d "{\\"verification_id\\":\\"demo-$(date +%s)\\",\\"nik\\":\\"${person.nik}\\",\\"name\\":\\"${person.name}\\",\\"date_of_birth\\":\\"${dob}\\",\\"selfie_image\\":\\"$(base64 < ${selfie.path} | tr -d '\\n')\\"}"`,
      '',
      'Or upload through S3 (any S3 client; the local S3 takes the key S3RVER):',
      '  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=ap-southeast-3',
      '  ID=demo-s3-$(date +%s)',
      `  aws s3 cp ${selfie.path} s3://${local.bucket}/incoming/$ID.jpg --endpoint-url ${local.s3Endpoint} \\`,
      `    --metadata nik=${person.nik},name=${encodeURIComponent(person.name)},date-of-birth=${dob}`,
      '  sleep 1   # the notification goes through a queue',
      `  curl -s ${local.apiUrl}/verifications/$ID`,
      '',
    );
  }
  lines.push('Ctrl-C stops everything.');
  console.log(lines.join('\n'));

  await new Promise<void>((resolveStop) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping...`);
      local.stop().then(resolveStop, resolveStop);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // `kill <npm's pid>` reaches npm's `sh -c`, which (dash) dies without passing the signal on:
    // a server started in the background would live on, orphaned, holding its four ports.
    const parent = process.ppid;
    const orphaned = setInterval(() => {
      if (process.ppid !== parent) stop('parent process gone');
    }, ORPHAN_CHECK_MS);
    orphaned.unref();
  });
}
