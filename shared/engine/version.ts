/** Engine version, reported in device info, telemetry and run provenance. Bump on any numerical change. */
export const ENGINE_VERSION = '0.1.0';
