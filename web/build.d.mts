export function buildWeb(outdir?: string): Promise<{ outdir: string; files: Array<{ name: string; bytes: number; brotli: number }>; firstLoadBrotliBytes: number }>;
