/**
 * The `predict` command's inputs: files and folders, in the order given. A folder is walked
 * recursively (entries sorted by name, symbolic links not followed into folders) for files whose
 * extension is .png, .jpg or .jpeg (any case); a file named on the command line is taken whatever
 * its extension (it is reported later if it is not an image). A path that does not exist or cannot
 * be listed becomes an error entry, so the other inputs go on.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Image file extensions picked up inside folders. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** One input file, or an input that could not be read as a file or folder. */
export type PredictInput = { file: string } | { file: string; error: string };

/** Expands files and folders (see the file header); paths keep the form they were given in. */
export async function expandInputs(inputs: readonly string[]): Promise<PredictInput[]> {
  const out: PredictInput[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      out.push({ file: dir, error: `cannot list folder: ${(e as Error).message}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push({ file: p });
    }
  };
  for (const input of inputs) {
    let st;
    try {
      st = await stat(input);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      out.push({ file: input, error: code === 'ENOENT' ? 'no such file or folder' : (e as Error).message });
      continue;
    }
    if (st.isDirectory()) {
      const before = out.length;
      await walk(input);
      if (out.length === before) out.push({ file: input, error: `no images found in this folder (looked for ${IMAGE_EXTENSIONS.join(', ')})` });
    } else out.push({ file: input });
  }
  return out;
}
