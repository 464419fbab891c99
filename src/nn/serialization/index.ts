/**
 * Checkpoint formats: safetensors (read and write) and PyTorch `torch.save` files (read),
 * loaded without executing anything from the file.
 */
export {
  save_file,
  save_safetensors_bytes,
  load_file,
  load_safetensors_bytes,
  safe_open,
  read_metadata,
  read_safetensors_header,
  parseSafetensorsHeader,
  SafetensorsFile,
  MAX_HEADER_SIZE,
  type SafetensorsDType,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  type SafetensorsLoadOptions,
} from './safetensors.js';
export {
  load_pth,
  load_pth_bytes,
  load_pth_object,
  load_pth_object_bytes,
  extract_state_dict,
  ALLOWED_GLOBALS,
  STATE_DICT_KEYS,
  type LoadPthOptions,
} from './pth.js';
export { CheckpointError, writeFileAtomic } from './io.js';
export { PickleError } from './pickle.js';
export type { StorageDType } from './convert.js';
export { pth_to_safetensors, type ConvertedTensor } from './pth2safetensors.js';
