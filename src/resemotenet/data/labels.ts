/**
 * FER2013 label ids and split names, and the mapping from ImageFolder class-folder names to ids.
 *
 * Source of the id order: the FER2013 CSV (Goodfellow et al. 2013) and /work/shared/data/README.md:
 * 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral. This is NOT the order that
 * sorting the folder names gives (that puts neutral at 4), so folder names are always looked up
 * by name here, never numbered by position.
 */

/** Class names indexed by FER2013 label id (length 7). */
export const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type Emotion = (typeof EMOTIONS)[number];
/** Number of classes (7). */
export const NUM_CLASSES = EMOTIONS.length;

/** FER2013 `Usage` values, indexed by the compact usage code stored in `Fer2013Data.usage`. */
export const USAGES = ['Training', 'PublicTest', 'PrivateTest'] as const;
export type Usage = (typeof USAGES)[number];

/** Usage name -> code 0..2, or -1 when the name is not one of USAGES (exact, case-sensitive). */
export function usageCode(name: string): number {
  return (USAGES as readonly string[]).indexOf(name);
}

/**
 * Accepted folder names (lower case) for each id. Besides the FER2013 names this takes the
 * common noun/adjective variants used by other re-packagings, and the bare digits '0'..'6'
 * (folders named by FER2013 id).
 */
const ALIASES: Readonly<Record<string, number>> = (() => {
  const table: Array<[number, string[]]> = [
    [0, ['angry', 'anger']],
    [1, ['disgust', 'disgusted']],
    [2, ['fear', 'fearful', 'afraid', 'scared']],
    [3, ['happy', 'happiness', 'joy']],
    [4, ['sad', 'sadness']],
    [5, ['surprise', 'surprised']],
    [6, ['neutral', 'neutrality']],
  ];
  const m: Record<string, number> = {};
  for (const [id, names] of table) {
    for (const n of names) m[n] = id;
    m[String(id)] = id;
  }
  return m;
})();

/**
 * The FER2013 id of a class-folder name (case-insensitive, surrounding spaces ignored), or -1 when
 * the name is not known. Example: 'Happiness' -> 3, 'neutral' -> 6, 'contempt' -> -1.
 */
export function emotionIdFromName(name: string): number {
  const id = ALIASES[name.trim().toLowerCase()];
  return id === undefined ? -1 : id;
}

/** All accepted folder names, for error messages. */
export function acceptedClassNames(): string[] {
  return Object.keys(ALIASES).filter((k) => !/^\d$/.test(k));
}
