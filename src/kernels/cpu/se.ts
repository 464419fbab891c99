// TODO(helper): reference kernels for se
