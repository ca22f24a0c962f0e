"""Plain NumPy references for the conv kernels (a third implementation, beside the kernels
and the composed twin): one strided slice of the padded input per kernel tap (i, j)."""

from __future__ import annotations

import numpy as np


def _padded_size(geo) -> tuple[int, int]:
    """(H_pad, W_pad): the front padding, the input, and room for every window."""
    (sh, sw), (ph, pw), (dh, dw), _, (h, w), (ho, wo), (kh, kw) = geo
    return (max(ph + h, (ho - 1) * sh + (kh - 1) * dh + 1),
            max(pw + w, (wo - 1) * sw + (kw - 1) * dw + 1))


def _tap(geo, i: int, j: int) -> tuple:
    """The slice of the padded input that tap (i, j) of every window reads."""
    (sh, sw), _, (dh, dw), _, _, (ho, wo), _ = geo
    return (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))


def geometry(stride, padding, dilation, groups, in_hw, out_hw, kernel_hw) -> tuple:
    return (tuple(stride), tuple(padding), tuple(dilation), groups, tuple(in_hw),
            tuple(out_hw), tuple(kernel_hw))


def forward(x, w, geo):
    _, (ph, pw), _, groups, (h, wd), (ho, wo), (kh, kw) = geo
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    og = o // groups
    xp = np.zeros((n, c) + _padded_size(geo))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    y = np.zeros((n, o, ho, wo))
    for i in range(kh):
        for j in range(kw):
            patch = xp[_tap(geo, i, j)]
            for g in range(groups):
                y[:, g * og:(g + 1) * og] += np.einsum(
                    "oc,nchw->nohw", w[g * og:(g + 1) * og, :, i, j],
                    patch[:, g * cg:(g + 1) * cg])
    return y


def input_grad(gy, w, geo):
    _, (ph, pw), _, groups, (h, wd), _, (kh, kw) = geo
    n, o = gy.shape[:2]
    cg = w.shape[1]
    og = o // groups
    dxp = np.zeros((n, cg * groups) + _padded_size(geo))
    for i in range(kh):
        for j in range(kw):
            key = _tap(geo, i, j)
            for g in range(groups):
                dxp[key][:, g * cg:(g + 1) * cg] += np.einsum(
                    "oc,nohw->nchw", w[g * og:(g + 1) * og, :, i, j],
                    gy[:, g * og:(g + 1) * og])
    return dxp[:, :, ph:ph + h, pw:pw + wd]


def weight_grad(x, gy, geo):
    _, (ph, pw), _, groups, (h, wd), _, (kh, kw) = geo
    n, c = x.shape[:2]
    o = gy.shape[1]
    cg, og = c // groups, o // groups
    xp = np.zeros((n, c) + _padded_size(geo))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    dw = np.zeros((o, cg, kh, kw))
    for i in range(kh):
        for j in range(kw):
            patch = xp[_tap(geo, i, j)]
            for g in range(groups):
                dw[g * og:(g + 1) * og, :, i, j] = np.einsum(
                    "nohw,nchw->oc", gy[:, g * og:(g + 1) * og],
                    patch[:, g * cg:(g + 1) * cg])
    return dw
