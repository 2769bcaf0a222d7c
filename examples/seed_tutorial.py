"""The seed tutorial's cells, run against scratchgrad (until `scratchgrad demo` takes over)."""

import argparse
import random

from scratchgrad import Value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="out")
    parser.parse_args()

    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b; e.label = "e"
    d = e + c; d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f; L.label = "L"
    print(L)

    x1 = Value(2.0, label="x1"); x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1"); w2 = Value(1.0, label="w2")
    b = Value(6, label="b")
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh(); o.backward()
    print(o.data)
    print("---")
    for name, v in [("x2", x2), ("w2", w2), ("x1", x1), ("w1", w1)]:
        print(name, v.grad)

    random.seed(0)
    params = [Value(random.uniform(-1, 1)) for _ in range(4)]
    print("parameters:", params)


if __name__ == "__main__":
    main()
