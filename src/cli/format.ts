/** Docker's human-readable renderings (go-units), tables (Go's tabwriter) and ids. */

/** go-units' HumanDuration: the coarse "N units" docker prints in CREATED and STATUS. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** "5 seconds ago" for a Unix time in seconds. */
export function timeAgo(unixSeconds: number, nowMs: number): string {
  return `${humanDuration(nowMs - unixSeconds * 1000)} ago`;
}

/** Go's `%.Ng`: N significant digits, trailing zeros dropped, two-digit exponents. */
export function formatSignificant(value: number, digits: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(digits)))));
  if (exponent < -4 || exponent >= digits) {
    const [mantissa = '', exp = '0'] = value.toExponential(digits - 1).split('e');
    const trimmed = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
    const sign = exp.startsWith('-') ? '-' : '+';
    return `${trimmed}e${sign}${exp.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  const fixed = value.toFixed(Math.max(0, digits - 1 - exponent));
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units' HumanSizeWithPrecision: decimal (1000-based) units, as docker shows image sizes. */
export function humanSize(bytes: number, precision = 4): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${formatSignificant(size, precision)}${DECIMAL_UNITS[unit]}`;
}

/** The 12-hex-digit id docker shows, with any `sha256:` dropped. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Cuts text to a display width, marking the cut with "…" as docker does. */
export function ellipsis(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, width - 1).join('')}…`;
}

/**
 * Go's tabwriter as docker configures it (minwidth 10, padding 3, spaces): each
 * tab-terminated cell is padded to its column's widest cell plus 3, at least 10;
 * the text after a line's last tab is not aligned.
 */
export function alignColumns(text: string, opts: { minWidth?: number; padding?: number } = {}): string {
  const minWidth = opts.minWidth ?? 10;
  const padding = opts.padding ?? 3;
  const lines = text.split('\n');
  const rows = lines.map((line) => line.split('\t'));
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? minWidth, [...cell].length + padding);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length)))
        .join(''),
    )
    .join('\n');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function offsetOf(date: Date): { minutes: number; sign: string; hh: string; mm: string } {
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return { minutes, sign: minutes < 0 ? '-' : '+', hh: pad2(Math.trunc(abs / 60)), mm: pad2(abs % 60) };
}

/** Go's RFC3339 with nine fraction digits in local time, as `docker events` prints. */
export function formatRfc3339Nano(timeNano: bigint): string {
  const ms = Number(timeNano / 1_000_000n);
  const date = new Date(ms);
  const nanos = String(timeNano % 1_000_000_000n).padStart(9, '0');
  const off = offsetOf(date);
  const zone = off.minutes === 0 ? 'Z' : `${off.sign}${off.hh}:${off.mm}`;
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())}T${pad2(date.getHours())}:${pad2(
    date.getMinutes(),
  )}:${pad2(date.getSeconds())}.${nanos}${zone}`;
}

/** Go's `time.Time.String()` without fractions: `2026-01-02 15:04:05 +0000 UTC`, as in CreatedAt. */
export function formatGoTime(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const off = offsetOf(date);
  const zoneName =
    new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
      .formatToParts(date)
      .find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}-${pad2(date.getDate())} ${pad2(date.getHours())}:${pad2(
    date.getMinutes(),
  )}:${pad2(date.getSeconds())} ${off.sign}${off.hh}${off.mm} ${zoneName}`;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration ("1h30m", "10s", "1.5h"); undefined when the text is not one. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!match || text === '0') return text === '0' ? 0 : undefined;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS_MS[part[2]!]!;
  }
  return match[1] === '-' ? -total : total;
}

/**
 * The `since`/`until` values docker sends: a Go duration means that long ago, a date
 * becomes Unix seconds with nine fraction digits, and anything else (a Unix time) goes as is.
 */
export function toApiTimestamp(value: string, nowMs: number): string {
  const duration = parseGoDuration(value);
  const asSeconds = (ms: number) => {
    const whole = Math.floor(ms / 1000);
    return `${whole}.${String(Math.round((ms - whole * 1000) * 1e6)).padStart(9, '0')}`;
  };
  if (duration !== undefined) return asSeconds(nowMs - duration);
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) return value;
  return asSeconds(parsed);
}
