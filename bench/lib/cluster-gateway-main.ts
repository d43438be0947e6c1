/**
 * One gateway node for bench:cluster part 2: the real composition (`buildGateway`, roles
 * ingest+detect, cluster enabled through gateway.yaml) with the documented idle-detector seam
 * (test/helpers/idle-detectors.ts): frames are sampled, decoded and handed to detect, which
 * counts and drops them. Running the TF.js model for 2,000 cameras on 2 shared cores would
 * measure the model, not the cluster; detection cost is in the detect section of RESULTS.md.
 *   argv: the gateway.yaml path (no secret: the snapshot password is in env, named by the file)
 * Answers the parent's 'report' IPC message with {node, sampled: {cameraId: framesSampled}}.
 */
import { buildGateway } from '../../app/build-gateway.js';
import { idleDetectors } from '../../test/helpers/idle-detectors.js';

const gw = await buildGateway({
  config: process.argv[2]!,
  roles: ['ingest', 'detect'],
  httpPort: 0,
  seams: { detectors: idleDetectors() },
});
const report = () => {
  const sampled: Record<string, number> = {};
  for (const s of gw.ingest?.directory.list() ?? []) sampled[s.id] = s.framesSampled;
  process.send?.({ node: process.env.GW_NODE_ID, sampled });
};
process.on('message', (m: unknown) => {
  if (m === 'report') report();
});
process.send?.({ node: process.env.GW_NODE_ID, ready: true });
process.on('SIGTERM', () => {
  gw.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
