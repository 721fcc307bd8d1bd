/**
 * Powertools settings for a terminal rather than CloudWatch, unless the developer chose otherwise: warnings and
 * errors only, no EMF metric blobs on stdout, no X-Ray daemon to send traces to. `npm start` imports this module
 * first, because the handlers' logger, metrics and tracer read these variables once, when their module loads.
 */
export function localPowertoolsDefaults(): Record<string, string> {
  const defaults: Record<string, string> = {
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
  };
  return Object.fromEntries(Object.entries(defaults).filter(([key]) => process.env[key] === undefined));
}

Object.assign(process.env, localPowertoolsDefaults());
