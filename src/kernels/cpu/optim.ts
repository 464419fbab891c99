// TODO(helper): reference kernels for optim
