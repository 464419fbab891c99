// TODO(helper): reference kernels for cross_entropy
