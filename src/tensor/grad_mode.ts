/** Global gradient-recording switch, as torch.no_grad / torch.enable_grad. */
let enabled = true;

export function is_grad_enabled(): boolean {
  return enabled;
}

/** Runs `fn` with gradient recording off (PyTorch's `torch.no_grad()`), restoring the previous mode. */
export function no_grad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Runs `fn` with gradient recording on (PyTorch's `torch.enable_grad()`). */
export function enable_grad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = true;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

export function set_grad_enabled(on: boolean): void {
  enabled = on;
}
