/**
 * The one catalogue of gridwatch error codes (modelled on Fastify's lib/errors.js). Every error
 * raised on purpose has a code from here; the HTTP status, the operator-facing texts (zh-CN
 * first, English as the switch) and the documentation come from this table only.
 * docs/errors.md is generated from it (`npm run docs:errors`; a test fails when it is stale).
 *
 * Codes are a public contract (API bodies, socket acks, logs, health, plugin status): never
 * rename or reuse one; add a new one. Keep the keys in alphabetical order.
 */
export interface ErrorDefinition {
  /** HTTP status when the error crosses the API boundary. */
  status: number;
  /** Short operator-facing text, zh-CN. The wall shows this for the code. */
  zh: string;
  /** The same in English. */
  en: string;
  /** For docs/errors.md: when it happens and what to do. */
  doc: string;
}

export const ERROR_CATALOGUE = {
  GW_ALERT_CORRUPT: {
    status: 500,
    zh: '告警数据损坏',
    en: 'Stored alert is corrupt',
    doc: 'An alert record in Redis did not parse against the alert schema. The record is left untouched for inspection.',
  },
  GW_ARGS: {
    status: 400,
    zh: '命令参数有误',
    en: 'Bad command-line arguments',
    doc: 'A command-line tool was given missing or invalid flags; the message names the flag. Tools exit with code 2.',
  },
  GW_BODY_TOO_LARGE: {
    status: 413,
    zh: '请求内容过大',
    en: 'Request body too large',
    doc: 'A request body or socket payload is larger than the limit of its route (64 KB for the wall API and platform callbacks). Nothing was done; JSON nested too deep is GW_VALIDATION.',
  },
  GW_CAMERA_AUTH_FAILED: {
    status: 422,
    zh: '摄像机拒绝了用户名或密码',
    en: 'The camera rejected the credentials',
    doc: 'Camera reason. RTSP 401/403, ONVIF NotAuthorized or HTTP 401: check the secret the camera entry refers to. The camera is misconfigured and retried slowly.',
  },
  GW_CAMERA_CONNECTION_REFUSED: {
    status: 502,
    zh: '摄像机拒绝连接（设备或其服务未运行）',
    en: 'Connection refused by the camera',
    doc: 'Camera reason. The camera or its RTSP/HTTP service is down, or a firewall rejects. Offline; reconnected with backoff.',
  },
  GW_CAMERA_DECODER_FAILED: {
    status: 502,
    zh: '视频解码进程异常退出',
    en: 'The ffmpeg process failed',
    doc: 'Camera reason. ffmpeg exited with an error not recognised otherwise; the message has the last line of its output (credentials removed). Restarted.',
  },
  GW_CAMERA_DECODER_KILLED: {
    status: 502,
    zh: '视频解码进程被终止',
    en: 'The ffmpeg process was killed',
    doc: "Camera reason. A signal ended the camera's ffmpeg (OOM killer, an operator). Restarted at once.",
  },
  GW_CAMERA_FILE_MISSING: {
    status: 422,
    zh: '视频文件不存在',
    en: 'The video file does not exist',
    doc: 'Camera reason. A `file` source points at a path that does not exist.',
  },
  GW_CAMERA_INTERNAL: {
    status: 500,
    zh: '摄像机采集内部错误',
    en: 'Internal error in the camera runner',
    doc: "Camera reason. A bug in ingest ended the camera's loop; the message says what failed (credentials removed). Report it.",
  },
  GW_CAMERA_INTERVAL_STRETCHED: {
    status: 503,
    zh: '解码预算不足，采样间隔已延长',
    en: 'Sampling interval stretched by the decode budget',
    doc: "Camera reason. The node's cameras together ask for more decodes per second than `ingest.maxDecodesPerSec`: cameras without rules in their schedule window are sampled at a longer interval first (the message and the status's `ingest.effectiveIntervalSec` say which). Degraded; clears when the budget has room again. Add nodes or raise the budget if this persists.",
  },
  GW_CAMERA_LAGGING: {
    status: 503,
    zh: '采样延迟过大',
    en: 'Samples arrive late',
    doc: 'Camera reason. Most recent samples arrived more than max(2 s, the interval) after their slot (p95): the node is overloaded or the network slow. Degraded; clears on the next timely sample.',
  },
  GW_CAMERA_MODE_UNSUPPORTED: {
    status: 422,
    zh: '该摄像机不支持所选采集模式',
    en: 'The sampling mode does not fit this source',
    doc: 'Camera reason. e.g. `mode: snapshot` on an RTSP-only camera, `burst` on a file.',
  },
  GW_CAMERA_NOT_IMAGE: {
    status: 422,
    zh: '快照地址返回的不是图片',
    en: 'The snapshot URL did not return an image',
    doc: 'Camera reason. The HTTP snapshot answered, but not with a JPEG.',
  },
  GW_CAMERA_NOT_VIDEO: {
    status: 422,
    zh: '地址可连接，但不是 RTSP 视频流',
    en: 'The address answers, but not with a video stream',
    doc: 'Camera reason. Something else listens at the RTSP address (a router login page, a wrong port).',
  },
  GW_CAMERA_NO_PROFILES: {
    status: 422,
    zh: 'ONVIF 设备没有媒体配置',
    en: 'The ONVIF device reports no media profiles',
    doc: 'Camera reason. GetProfiles returned nothing usable.',
  },
  GW_CAMERA_ONVIF_FAILED: {
    status: 502,
    zh: 'ONVIF 请求失败',
    en: 'The ONVIF request failed',
    doc: 'Camera reason. The ONVIF device answered with an error other than authentication.',
  },
  GW_CAMERA_PROFILE_NOT_FOUND: {
    status: 422,
    zh: 'ONVIF 设备没有所配置的媒体配置',
    en: 'The configured ONVIF profile does not exist',
    doc: "Camera reason. The `profile` named in the camera entry is not among the device's profiles; the message lists them.",
  },
  GW_CAMERA_RESOLUTION_CHANGED: {
    status: 503,
    zh: '视频分辨率已变化，请检查检测区域',
    en: 'The stream changed resolution; check the zones',
    doc: 'Camera reason. Someone reconfigured the camera. The pipeline restarts at the new size; zones are normalised but may no longer cover the right places. Clears after 5 good frames.',
  },
  GW_CAMERA_SECRET_MISSING: {
    status: 422,
    zh: '摄像机凭据缺失',
    en: 'The camera credential is missing',
    doc: 'Camera reason. The environment variable or secrets file named in `credentials` is not there; the message names it.',
  },
  GW_CAMERA_SERVER_ERROR: {
    status: 502,
    zh: '摄像机服务报告错误（5xx）',
    en: "The camera's server reported an error (5xx)",
    doc: 'Camera reason. RTSP or HTTP 500/503 from the camera or NVR (often: too many sessions).',
  },
  GW_CAMERA_STALLED: {
    status: 504,
    zh: '视频流停滞，正在重启',
    en: 'The stream stalled; restarting',
    doc: 'Camera reason. ffmpeg ran but gave no frame for `stallIntervals` intervals (at least 15 s). Restarted; a stall alone never changes the decoding mode.',
  },
  GW_CAMERA_STARVED: {
    status: 503,
    zh: '节点CPU不足，采集进程等待调度',
    en: 'The node is short of CPU; the camera is not restarted',
    doc: 'Camera reason. No frame for the stall limit, but the camera’s ffmpeg processes spent at least half of the last 10 s waiting for a CPU (Linux schedstat): the node is overloaded, the camera is not at fault. Degraded, not restarted (a restart would cost more CPU); restarted as a stall once its processes are idle, or after 10 minutes. Reduce the load on the node or move cameras to another node.',
  },
  GW_CAMERA_STREAM_ENDED: {
    status: 502,
    zh: '摄像机关闭了视频流',
    en: 'The camera closed the stream',
    doc: 'Camera reason. Reboot, NVR session limit, network reset. Reconnected with backoff.',
  },
  GW_CAMERA_STREAM_NOT_FOUND: {
    status: 422,
    zh: '摄像机上没有该路径的视频流',
    en: 'No stream at this path',
    doc: 'Camera reason. RTSP 404/454 or HTTP 404: check the URL path or channel.',
  },
  GW_CAMERA_TIMEOUT: {
    status: 504,
    zh: '摄像机响应超时',
    en: 'The camera did not answer in time',
    doc: 'Camera reason. Connect or read timed out. Offline; reconnected with backoff.',
  },
  GW_CAMERA_UNKNOWN_HOST: {
    status: 422,
    zh: '摄像机主机名无法解析',
    en: 'The camera host name does not resolve',
    doc: 'Camera reason. DNS has no such name.',
  },
  GW_CAMERA_UNREACHABLE: {
    status: 502,
    zh: '无法连接到摄像机网络',
    en: 'No network route to the camera',
    doc: 'Camera reason. No route to host / network unreachable.',
  },
  GW_CHILD_START: {
    status: 500,
    zh: '子进程启动失败',
    en: 'Child process failed to start',
    doc: 'A supervised child (e.g. redis-server) exited or did not answer while starting; the message has its last output lines.',
  },
  GW_CLOSED: {
    status: 503,
    zh: '服务正在关闭',
    en: 'Component is shutting down',
    doc: 'A call reached a component after its close() began.',
  },
  GW_CLUSTER_UNAVAILABLE: {
    status: 503,
    zh: '集群协调服务不可用',
    en: 'Cluster coordination unavailable',
    doc: 'A node with `cluster.enabled` could not reach Redis to register and claim cameras at start-up. Check the `redis:` section and that Redis (or Sentinel) is reachable; once running, a node that loses Redis stops its cameras when their leases would expire and reclaims them when Redis is back.',
  },
  GW_CONFIG_INVALID: {
    status: 400,
    zh: '配置有误',
    en: 'Configuration is invalid',
    doc: 'A config file (gateway.yaml, a camera file, the grid file) failed validation. Every issue is listed with file, line, column and field; hot reload keeps the last good version.',
  },
  GW_CONFIG_NOT_LOADED: {
    status: 503,
    zh: '配置尚未加载',
    en: 'Configuration not loaded yet',
    doc: 'The config store was read before load() finished.',
  },
  GW_CONFLICT: {
    status: 409,
    zh: '操作冲突，请刷新后重试',
    en: 'Conflicting change; reload and retry',
    doc: 'Another change won (a stale version, a concurrent claim).',
  },
  GW_CSRF: {
    status: 403,
    zh: '请求校验失败，请刷新页面',
    en: 'Request check failed; reload the page',
    doc: 'A state-changing request lacked the CSRF header matching the session.',
  },
  GW_DEPENDENCY_MISSING: {
    status: 500,
    zh: '缺少系统组件',
    en: 'A system program is missing',
    doc: 'A binary gridwatch needs (ffmpeg, redis-server) is not on PATH; the message names the Debian package to install.',
  },
  GW_EVIDENCE_EXPIRED: {
    status: 404,
    zh: '证据已过期',
    en: 'Evidence expired',
    doc: 'The evidence image of an alert is no longer kept: retention (retention.evidenceDays, evidenceMaxMb) removed it, which is normal for alerts older than the evidence retention. The alert itself is kept.',
  },
  GW_EVIDENCE_LINK: {
    status: 403,
    zh: '证据链接无效',
    en: 'Invalid evidence link',
    doc: 'A signed evidence link for the grid platform did not verify (wrong target, image or signature).',
  },
  GW_EVIDENCE_LINK_EXPIRED: {
    status: 403,
    zh: '证据链接已过期',
    en: 'Evidence link expired',
    doc: 'A signed evidence link is past its expiry.',
  },
  GW_EVIDENCE_NAME: {
    status: 400,
    zh: '证据文件名无效',
    en: 'Invalid evidence name',
    doc: 'An evidence key had characters outside the allowed set.',
  },
  GW_EVIDENCE_PATH: {
    status: 400,
    zh: '证据路径无效',
    en: 'Invalid evidence path',
    doc: 'An evidence path tried to leave the evidence directory or was malformed.',
  },
  GW_EVIDENCE_UNWRITABLE: {
    status: 503,
    zh: '证据存储不可写',
    en: 'Evidence store not writable',
    doc: 'Evidence images cannot be written (the errno says why: EACCES, ENOSPC, ENOTDIR, EROFS). Alerts are still raised, without evidence images; readiness shows the evidence check degraded until a write succeeds again. Fix the permissions or free space of the data directory.',
  },
  GW_FORBIDDEN: {
    status: 403,
    zh: '超出您的管辖范围或权限',
    en: 'Outside your scope or role',
    doc: 'The user is logged in but the alert, camera or action is outside their scope or role.',
  },
  GW_FRAME_SIZE: {
    status: 400,
    zh: '画面尺寸不符',
    en: 'Frame has the wrong size',
    doc: 'A frame handed to the model did not match the size it was declared with.',
  },
  GW_INFERENCE: {
    status: 500,
    zh: '识别失败',
    en: 'Inference failed',
    doc: 'The model raised an error on a frame; the frame is skipped and the worker keeps running.',
  },
  GW_INFERENCE_HUNG: {
    status: 503,
    zh: '识别进程无响应',
    en: 'Inference worker hung',
    doc: 'An inference worker did not finish a frame within the job timeout (30 s; a model stuck in a loop, a wedged backend): it is terminated and restarted, the frame is skipped, and the pool health shows this code as its last error until the next one.',
  },
  GW_INFERENCE_WORKER_DIED: {
    status: 503,
    zh: '识别进程异常退出',
    en: 'Inference worker died',
    doc: 'An inference worker thread exited; it is restarted and its frames are retried elsewhere.',
  },
  GW_INTERNAL: {
    status: 500,
    zh: '内部错误（详见网关日志）',
    en: 'Internal error (see the gateway log)',
    doc: 'An unexpected error. The reply never carries its details; the log has them.',
  },
  GW_INVALID_TRANSITION: {
    status: 409,
    zh: '告警当前状态不允许该操作',
    en: 'Action not allowed in the alert state',
    doc: 'The action is not in the state table for the alert state (docs/architecture.md, alert lifecycle).',
  },
  GW_JOB_CATALOGUE: {
    status: 500,
    zh: '任务处理程序配置有误',
    en: 'Job handlers do not match the job catalogue',
    doc: 'At start-up a queue job name has no handler, two handlers, or a handler for a name the catalogue (features/dispatcher/job-registry.ts) does not know. The message names the queue and job; the process does not start.',
  },
  GW_LIVE_FAILED: {
    status: 502,
    zh: '实时视频启动失败',
    en: 'Live view failed to start',
    doc: 'The live relay could not pull the camera or publish to the media server.',
  },
  GW_LIVE_NOT_STARTED: {
    status: 404,
    zh: '实时视频未启动',
    en: 'Live view not started',
    doc: 'A live stream was requested without a ticket, or after it stopped.',
  },
  GW_LIVE_TIMEOUT: {
    status: 504,
    zh: '实时视频启动超时',
    en: 'Live view timed out',
    doc: 'The camera did not deliver video to the relay in time.',
  },
  GW_LIVE_UNSUPPORTED: {
    status: 409,
    zh: '该摄像机不支持实时视频',
    en: 'Camera has no live stream',
    doc: 'Snapshot cameras have no stream to relay.',
  },
  GW_LIVE_UPSTREAM: {
    status: 502,
    zh: '媒体服务不可用',
    en: 'Media server unavailable',
    doc: 'The wall could not reach the local media server.',
  },
  GW_MODEL_LOAD: {
    status: 500,
    zh: '模型加载失败',
    en: 'Model failed to load',
    doc: 'A model plugin could not load its model: files missing or not parsing (fetch them with bash scripts/fetch-models.sh, which setup runs), or the plugin module failed to import or has no createModel. Nothing is downloaded at run time.',
  },
  GW_MODEL_UNKNOWN: {
    status: 400,
    zh: '未知的检测模型',
    en: 'Unknown detection model',
    doc: 'detectors.model.plugin or a camera\'s model names no loaded model plugin (kind "model" or "both"); the message lists the loaded ones.',
  },
  GW_NOT_FOUND: {
    status: 404,
    zh: '未找到',
    en: 'Not found',
    doc: 'The alert, camera, grid or route does not exist (or no longer exists).',
  },
  GW_NOT_READY: {
    status: 503,
    zh: '服务尚未就绪',
    en: 'Not ready yet',
    doc: 'The gateway is starting, or this node does not have the role the request needs.',
  },
  GW_PASSWORD_EMPTY: {
    status: 400,
    zh: '密码不能为空',
    en: 'Password is empty',
    doc: 'hash-password was given an empty password.',
  },
  GW_PASSWORD_HASH: {
    status: 500,
    zh: '密码哈希格式错误',
    en: 'Malformed password hash',
    doc: 'A user passwordHash in gateway.yaml is not a scrypt hash made by npm run hash-password.',
  },
  GW_PLUGIN_CRASHED: {
    status: 500,
    zh: '检测插件崩溃',
    en: 'Detector plugin crashed',
    doc: "A plugin's worker thread crashed or exited; the plugin is disabled alone.",
  },
  GW_PLUGIN_DUPLICATE: {
    status: 500,
    zh: '检测插件重复',
    en: 'Duplicate detector plugin',
    doc: 'Two plugins declare the same name or finding type; the second is disabled.',
  },
  GW_PLUGIN_ENTRY: {
    status: 500,
    zh: '检测插件入口无效',
    en: 'Bad plugin entry',
    doc: "The manifest's entry is missing or leaves the plugin folder.",
  },
  GW_PLUGIN_FAILED: {
    status: 500,
    zh: '检测插件出错',
    en: 'Detector plugin failed',
    doc: 'A plugin threw while evaluating a frame; it is disabled alone and health shows the error.',
  },
  GW_PLUGIN_LOAD: {
    status: 500,
    zh: '检测插件加载失败',
    en: 'Detector plugin failed to load',
    doc: 'A plugin module threw at import or does not export what its manifest kind promises.',
  },
  GW_PLUGIN_MANIFEST: {
    status: 500,
    zh: '检测插件清单无效',
    en: 'Invalid plugin manifest',
    doc: 'gridwatch-plugin.json (or package.json "gridwatch") is not valid JSON or fails the manifest schema.',
  },
  GW_PLUGIN_TIMEOUT: {
    status: 500,
    zh: '检测插件超时',
    en: 'Detector plugin timed out',
    doc: 'A plugin call did not return within pluginTimeoutMs; its thread is terminated and the plugin disabled.',
  },
  GW_PROTOCOL: {
    status: 400,
    zh: '协议版本不符',
    en: 'Protocol mismatch',
    doc: 'A socket client spoke another version of the wall protocol.',
  },
  GW_RATE_LIMITED: {
    status: 429,
    zh: '尝试次数过多，请稍后再试',
    en: 'Too many attempts; try later',
    doc: 'Login attempts over the limit for the address or the username.',
  },
  GW_REDIS_START: {
    status: 500,
    zh: '内置 Redis 启动失败',
    en: 'Embedded Redis failed to start',
    doc: 'The embedded redis-server child did not start; the message has its last log lines.',
  },
  GW_REDIS_UNAVAILABLE: {
    status: 503,
    zh: 'Redis 暂不可用，请稍后重试',
    en: 'Redis is unavailable; retry shortly',
    doc: 'The request needed Redis while it was down or restarting (the embedded redis-server is restarted by its supervisor within seconds). Nothing was changed; retry. /readyz reports redis not ok meanwhile.',
  },
  GW_SECRET_MISSING: {
    status: 400,
    zh: '密钥缺失',
    en: 'Secret missing',
    doc: 'A secret reference (env variable or secrets file) does not resolve. The value is never shown, only the field.',
  },
  GW_SECRET_PLACE: {
    status: 400,
    zh: '密钥文件位置不允许',
    en: 'Secret file outside the secrets directories',
    doc: 'A secret file reference points outside every configured secrets directory, or through a symbolic link out of one. Move the file into a secrets directory (secretsDirs in gateway.yaml; default the secrets/ folder next to it). The value is never read or shown.',
  },
  GW_STORED_CORRUPT: {
    status: 500,
    zh: '存储的数据损坏',
    en: 'Stored record is damaged',
    doc: 'A record gridwatch keeps in Redis (a whistle, an idempotency record, a node entry…) is not JSON or does not match its schema, e.g. written by another version or another program. The message names the record and the first field at fault; the record is left as it is for inspection. Lists skip such records and say so in the log.',
  },
  GW_TIMEOUT: {
    status: 504,
    zh: '等待超时',
    en: 'Timed out',
    doc: 'A frame or an answer did not arrive in time (e.g. a re-check frame).',
  },
  GW_UNAUTHORIZED: {
    status: 401,
    zh: '请先登录',
    en: 'Login required',
    doc: 'No valid session, or the session expired.',
  },
  GW_UNKNOWN_CAMERA: {
    status: 422,
    zh: '未知摄像机',
    en: 'Unknown camera',
    doc: 'A finding names a camera that is not in the config (removed since). The finding fails for good.',
  },
  GW_UNROUTABLE: {
    status: 422,
    zh: '无法确定所属网格',
    en: 'No grid for the finding',
    doc: 'Neither zone, camera, location nor fallbackGridCode gives a grid. Set dispatcher.fallbackGridCode.',
  },
  GW_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    zh: '请求格式不受支持',
    en: 'Unsupported request body type',
    doc: 'A request body was not JSON in UTF-8: send Content-Type: application/json (with charset utf-8 or none).',
  },
  GW_VALIDATION: {
    status: 400,
    zh: '输入有误',
    en: 'Invalid input',
    doc: 'A request body, query, socket payload or job failed its schema; details.issues names each field.',
  },
  GW_VIDEO: {
    status: 400,
    zh: '视频文件无法读取',
    en: 'Video cannot be read',
    doc: 'analyze was given a file ffprobe/ffmpeg cannot read.',
  },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];
