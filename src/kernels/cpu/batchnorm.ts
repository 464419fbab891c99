// TODO(helper): reference kernels for batchnorm
