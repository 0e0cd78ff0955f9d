/**
 * Progress of a long CLI run on stderr: a bar with the rate and the time left, redrawn in
 * place, when stderr is a terminal; otherwise (a log file, a CI job) a plain line every
 * `LOG_EVERY_MS`.
 */
const LOG_EVERY_MS = 10_000;
const DRAW_EVERY_MS = 200;
const BAR = 30;

export interface ProgressReport {
  /** How far along: bytes read, or people written. */
  done: number;
  /** The whole (0 when unknown). */
  total: number;
  /** People (records) so far, for the rate. */
  items: number;
  /** Extra words after the figures (e.g. "3 bad lines"). */
  note?: string;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private readonly started = Date.now();
  // The first line after one interval: a short run prints only its summary.
  private last = Date.now();
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly unit: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  private get tty(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(report: ProgressReport, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < (this.tty ? DRAW_EVERY_MS : LOG_EVERY_MS)) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? report.items / seconds : 0;
    const fraction = report.total > 0 ? Math.min(1, report.done / report.total) : 0;
    const eta = fraction > 0 ? (seconds / fraction) * (1 - fraction) : Infinity;
    const figures = `${report.items.toLocaleString('en-US')} ${this.unit}, ${Math.round(rate).toLocaleString('en-US')}/s, ${duration(seconds)} elapsed${report.total > 0 ? `, ${duration(eta)} left` : ''}${report.note ? `, ${report.note}` : ''}`;
    if (this.tty) {
      const filled = Math.round(fraction * BAR);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${figures}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${this.label}: ${report.total > 0 ? `${(fraction * 100).toFixed(0)}%, ` : ''}${figures}\n`);
    }
  }

  /** Ends the bar's line (on a terminal), so what follows starts on a line of its own. */
  end(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  /** A plain message, on a line of its own. */
  say(message: string): void {
    this.end();
    this.stream.write(`${message}\n`);
  }
}
