/** Reading samples out of a Prometheus text exposition, for the metrics tests. */

/** The value of the sample `name{labels}` (exactly these labels), or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const s of samples(text, name)) {
    const got = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .sort()
      .join(',');
    if (got === want) return s.value;
  }
  return undefined;
}

/** Every sample of the metric `name`, with its labels. */
export function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    const raw = m[3] as string;
    out.push({ labels, value: raw === '-Inf' ? -Infinity : raw === '+Inf' ? Infinity : Number(raw) });
  }
  return out;
}
