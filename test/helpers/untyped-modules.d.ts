// Test-only dependencies that ship no typings.
declare module 'parse-prometheus-text-format' {
  /** The metric families of a Prometheus text exposition. */
  export default function parsePrometheusTextFormat(text: string): Array<{ name: string; help: string; type: string; metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }> }>
}
