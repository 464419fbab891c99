// TODO(helper): reference kernels for pool
