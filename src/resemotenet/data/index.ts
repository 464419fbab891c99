/**
 * The ResEmoteNet data pipeline: FER2013 CSV and ImageFolder readers, the torchvision-equivalent
 * transform (Resize 64 bilinear as PIL, Grayscale(3), flip, ToTensor, Normalize), a seeded
 * resumable prefetching DataLoader, and class-count summaries.
 */
export { EMOTIONS, NUM_CLASSES, USAGES, usageCode, emotionIdFromName, acceptedClassNames, type Emotion, type Usage } from './labels.js';
export { DataError, type SkippedInput } from './errors.js';
export { SubsetDataset, type GrayDataset, type GrayImage } from './dataset.js';
export { loadFer2013Csv, Fer2013Data, FER_SIDE, FER_PIXELS, FER_MAX_LINE_BYTES, type Fer2013CsvOptions } from './fer_csv.js';
export { decodeImageToGray, rgbToL, sniffImageFormat, MAX_IMAGE_MEGAPIXELS } from './image_decode.js';
export { readImageFile, readRegularFile, MAX_IMAGE_FILE_BYTES } from './read_file.js';
export { loadImageFolder, ImageFolderData, type ImageFolderOptions, type ClassFolder } from './image_folder.js';
export { ImageTransform, resEmoteNetTransform, resizeBilinear, affineResample, type AffineParams, normalizeTable, IMAGENET_MEAN, IMAGENET_STD, type TransformOptions } from './transforms.js';
export { DataLoader, epochPermutation, flipUniform, affineFor, type AugmentOptions, type DataLoaderOptions, type LoaderState, type Batch, type LoaderStats } from './loader.js';
export { classCounts, summarize, formatSummary, type DatasetSummary, type CountRow } from './summary.js';
