"""Checker for mode_coverage: PacGAN's count of covered modes and high-quality samples."""

import numpy as np

from tinygen.exercises.check import Mismatch, arrays, close, floats, prop, show, st

TITLE = "Mode coverage: covered modes and high-quality samples"
TOPIC = "GANs"
DIFFICULTY = 1
LESSON = "10_gan_mode_coverage"
FUNCTIONS = ["mode_coverage"]


@st.composite
def case(draw):
    """Modes on a line 10σ apart, samples scattered around them (up to 5σ away)."""
    k, n, sigma = draw(st.integers(1, 4)), draw(st.integers(1, 8)), draw(floats(0.05, 1.0))
    centres = np.stack([np.arange(k) * 10.0 * sigma, np.zeros(k)], axis=1)
    which = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    offsets = draw(arrays((n, 2), -5.0, 5.0)) * sigma
    return centres[which] + offsets, centres, sigma


def _result(module, samples, centres, sigma):
    out = module.mode_coverage(samples, centres, sigma)
    if not (isinstance(out, tuple | list) and len(out) == 2):
        raise Mismatch("mode_coverage must return (modes covered, high-quality fraction)")
    return int(out[0]), float(out[1])


@prop("a sample is high quality when ‖x − μ‖ < 3σ for its nearest centre μ",
      "the threshold is 3σ: compare the distance divided by σ with 3", data=case())
def high_quality(student, ref, data):
    samples, centres, sigma = data
    close(_result(student, samples, centres, sigma)[1], ref.mode_coverage(samples, centres,
          sigma)[1], "the high-quality fraction", samples=samples, centres=centres, sigma=sigma)


@prop("a mode is covered only by a high-quality sample; a far sample covers nothing",
      "count a mode when at least one high-quality sample has it as nearest centre",
      data=case())
def covered(student, ref, data):
    samples, centres, sigma = data
    got = _result(student, samples, centres, sigma)[0]
    want = ref.mode_coverage(samples, centres, sigma)[0]
    if got != want:
        raise Mismatch(f"for\n  samples = {show(samples)}\n  centres = {show(centres)}\n"
                       f"  sigma = {sigma!r}\n{got} modes covered; expected {want}")
