// TODO(helper): reference kernels for conv
