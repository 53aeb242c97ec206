"""Deliberately naive references for the golden tests: explicit loops over Python ints."""

import numpy as np


def as_pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def loop_conv2d(x, w, *, stride, padding, groups, fill, product):
    """Grouped NCHW convolution: ``sum product(pixel, weight)`` over each window.

    Positions outside the input read ``fill``; ``product`` combines two Python ints.
    """
    x, w = np.asarray(x), np.asarray(w)
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    batch, _, height, width = x.shape
    c_out, per_group, kh, kw = w.shape
    out_per_group = c_out // groups
    h_out = (height + 2 * ph - kh) // sh + 1
    w_out = (width + 2 * pw - kw) // sw + 1
    out = np.zeros((batch, c_out, h_out, w_out), dtype=object)
    for b in range(batch):
        for o in range(c_out):
            g = o // out_per_group
            for i in range(h_out):
                for j in range(w_out):
                    total = 0
                    for c in range(per_group):
                        for u in range(kh):
                            for q in range(kw):
                                row, col = i * sh + u - ph, j * sw + q - pw
                                inside = 0 <= row < height and 0 <= col < width
                                pixel = int(x[b, g * per_group + c, row, col]) if inside else fill
                                total += product(pixel, int(w[o, c, u, q]))
                    out[b, o, i, j] = total
    return out
