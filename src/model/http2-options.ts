// Compiles Http2ProtocolOptions (downstream in the HCM, upstream in clusters) with Envoy's defaults and ranges.
import { HTTP2_PROTOCOL_OPTIONS } from './fields-hcm.ts';
import type { Msg } from './proto-message.ts';
import type { Http2Options } from './types.ts';

const MAX_INT32 = 2147483647;
const MIN_WINDOW = 65535;

export const DEFAULT_HTTP2_OPTIONS: Http2Options = {
  maxConcurrentStreams: MAX_INT32,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
};

/** `parent.<name>` as Http2ProtocolOptions; the defaults when absent. */
export function compileHttp2Options(parent: Msg, name: string): Http2Options {
  const m = parent.msg(name, HTTP2_PROTOCOL_OPTIONS);
  if (!m) return DEFAULT_HTTP2_OPTIONS;
  return {
    maxConcurrentStreams: m.uint('max_concurrent_streams', DEFAULT_HTTP2_OPTIONS.maxConcurrentStreams, 1, MAX_INT32),
    initialStreamWindowSize: m.uint('initial_stream_window_size', DEFAULT_HTTP2_OPTIONS.initialStreamWindowSize, MIN_WINDOW, MAX_INT32),
    initialConnectionWindowSize: m.uint(
      'initial_connection_window_size',
      DEFAULT_HTTP2_OPTIONS.initialConnectionWindowSize,
      MIN_WINDOW,
      MAX_INT32,
    ),
  };
}
