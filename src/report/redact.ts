/** Replaces every known secret value in text with `***`. Values shorter than 4 characters are ignored. */
export class Redactor {
  private secrets: string[] = [];

  add(value: string | undefined): void {
    if (!value || value.length < 4 || this.secrets.includes(value)) return;
    this.secrets.push(value);
    // Longest first, so a secret containing another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  /** Whether there is anything to redact. */
  get active(): boolean {
    return this.secrets.length > 0;
  }

  redact(text: string): string {
    if (!text) return text;
    for (const s of this.secrets) if (text.includes(s)) text = text.split(s).join("***");
    return text;
  }
}
