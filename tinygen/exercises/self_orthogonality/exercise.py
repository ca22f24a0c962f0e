"""Checker for self_orthogonality: the SOM regulariser on a batch."""


from tinygen.exercises.check import arrays, close, prop, st

TITLE = "The Self-Orthogonality regulariser"
TOPIC = "training"
DIFFICULTY = 2
LESSON = "04_self_orthogonality"
FUNCTIONS = ["self_orthogonality"]


@st.composite
def layer(draw, k_min=2):
    n, d, k = draw(st.integers(2, 5)), draw(st.integers(1, 3)), draw(st.integers(k_min, 4))
    x = draw(arrays((n, d), -2, 2))
    x[0] = 0.0
    x[0, 0] = 1.0                       # Y[0] = W[0] ≥ 0.1: no column of tanh(γY) is zero
    w = draw(arrays((d, k), 0.1, 2))
    return x, w


@prop("only off-diagonal pairs count: a layer with one filter has R = 0",
      "sum over i ≠ j only: the diagonal ϑᵢᵢ is 1 and says nothing about angles",
      data=layer(k_min=1).map(lambda a: (a[0], a[1][:, :1])))
def one_filter(student, ref, data):
    x, w = data
    close(student.self_orthogonality(x, w), 0.0, "self_orthogonality(X, W) for k = 1", X=x, W=w)


@prop("R = λ₁(Σ_{i≠j} ϑᵢⱼ)² + λ₂ Σ_{i≠j} ϑᵢⱼ², ϑ = ŶᵀŶ, Ŷ = tanh(γXW) with unit columns",
      "normalise every column of tanh(γY) over the batch (axis 0), not every row",
      data=layer())
def general(student, ref, data):
    x, w = data
    close(student.self_orthogonality(x, w), ref.self_orthogonality(x, w),
          "self_orthogonality(X, W)", X=x, W=w)
