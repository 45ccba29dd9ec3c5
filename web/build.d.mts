export function buildWeb(outdir?: string): Promise<{ outdir: string; files: Array<{ name: string; bytes: number }>; firstLoadBrotliBytes: number }>;
