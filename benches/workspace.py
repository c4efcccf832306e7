#!/usr/bin/env python3
"""Workspace bytes of each workload against the liveness minimum.

    python3 benches/workspace.py [--nnspec PATH]

For each spec of benches/specs/ at its benchmark batch size:
  - planned: the buffers of the memory plan (`nnspec ir --stage opt --plan`), as the plan sums
    them (rows x cols x 4 bytes, f32);
  - allocated: the buffers the generated `workspace(max_batch)` allocates (`nnspec emit`),
    with faer's column padding (a column's stride is rounded up to 64 bytes, 16 f32);
  - minimum: the liveness lower bound over the optimised graph's materialised values (those
    the plan gives a buffer): the largest, over the nodes in order, of the node's value plus
    every value defined before it and used after it, plus, for a node that is not
    element-wise, its arguments that die there (an element-wise node may overwrite them);
    the loss lives to the end; parameter gradients are not counted, since the generated code
    writes them straight into the caller's `grads`;
  - gradients: the bytes of the parameter gradients (held in `grads`, not the workspace).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = [("W1", "w1_toy.nn", 100), ("W2", "w2_mlp_small.nn", 32), ("W3", "w3_mnist.nn", 128),
         ("W4", "w4_wide.nn", 256), ("W5", "w5_attention.nn", 1), ("W6", "w6_deep_narrow.nn", 16)]
ELEMENTWISE = {"add", "sub", "mul", "div", "neg", "relu", "heaviside", "log", "exp", "sqrt",
               "sig", "tanh", "softplus", "abs", "sin", "cos", "pow", "square", "broadcast"}


def dims(text: str, batch: int) -> int:
    r, c = text.split("×")
    return int(r) * (batch if c == "B" else int(c))


def analyse(ir: str, batch: int):
    nodes = {}  # id -> (op, args, size)
    order = []
    returned = set()
    grads = set()
    plan = {}  # id -> buffer
    fused_into = {}
    for line in ir.splitlines():
        m = re.match(r"\s*%(\d+) = (\S+)(.*?) : (\d+×(?:\d+|B))", line)
        if m:
            i = int(m.group(1))
            args = [int(a) for a in re.findall(r"%(\d+)", m.group(3))]
            nodes[i] = (m.group(2), args, dims(m.group(4), batch))
            order.append(i)
            continue
        if line.strip().startswith("return"):
            for name, v in re.findall(r"([^,=]+?) = %(\d+)", line.strip()[len("return"):]):
                returned.add(int(v))
                if name.strip().startswith("∂"):
                    grads.add(int(v))
            continue
        m = re.match(r"\s*%(\d+).*?→ buffer (\d+) \((\d+)×(\d+|B)\)(?:\s+fuses (.*))?", line)
        if m:
            i = int(m.group(1))
            plan[i] = int(m.group(2))
            for f in re.findall(r"%(\d+)", m.group(5) or ""):
                fused_into[int(f)] = i
    pos = {i: k for k, i in enumerate(order)}
    end = len(order)
    # Who a value is read by, after fusion: a fused node's reads belong to its group's root;
    # a node with no buffer and no group (input, parameter, view) passes its reads through.
    def root(i):
        while i in fused_into:
            i = fused_into[i]
        return i

    last = {i: pos[i] for i in plan}
    for i in order:
        op, args, _ = nodes[i]
        user = root(i)
        for a in args:
            a = root(a) if a in fused_into else a
            if a in plan:
                last[a] = max(last[a], pos[user])
    for r in returned:
        r = root(r)
        if r in plan:
            last[r] = end
    # Gradients are written into the caller's `grads`, not the workspace.
    grad_roots = {root(g) for g in grads}
    plan = {i: b for i, b in plan.items() if i not in grad_roots}
    peak = 0
    for i in order:
        if i not in plan:
            continue
        t = pos[i]
        need = nodes[i][2]
        for v in plan:
            if v != i and pos[v] < t < last[v]:
                need += nodes[v][2]
        if nodes[i][0] not in ELEMENTWISE:
            for a in {root(a) for a in nodes[i][1]}:
                if a in plan and last[a] == t:
                    need += nodes[a][2]
        peak = max(peak, need)
    m = re.search(r"(\d+) buffers: (\d+) bytes per example and (\d+) fixed bytes in f32", ir)
    planned = int(m.group(2)) * batch + int(m.group(3)) if m else None
    grad_bytes = sum(nodes[g][2] * 4 for g in grad_roots if g in nodes)
    return planned, peak * 4, grad_bytes, int(m.group(1)) if m else None


def allocated(code: str, batch: int) -> tuple[int, int]:
    """(bytes as allocated with faer's column padding, bytes without padding) of the buffers
    the generated `workspace(max_batch)` makes; `Mat::zeros(max_batch, 1)` is a per-example
    value stored as one column."""
    padded = unpadded = 0
    body = code.split("pub fn workspace", 1)[1].split("pub fn visit", 1)[0]
    for r, c in re.findall(r"Mat::zeros\(\s*(max_batch|\d+usize),\s*(max_batch|\d+usize)\s*,?\s*\)", body):
        rows = batch if r == "max_batch" else int(r.removesuffix("usize"))
        cols = batch if c == "max_batch" else int(c.removesuffix("usize"))
        padded += (-(-rows // 16) * 16) * cols * 4
        unpadded += rows * cols * 4
    return padded, unpadded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnspec", default=None, help="the nnspec binary (default: cargo run --release)")
    args = ap.parse_args()
    run = [args.nnspec] if args.nnspec else ["cargo", "run", "--release", "-q", "--"]
    print("| workload | batch | workspace bytes | allocated with padding | liveness minimum "
          "| workspace / minimum | gradients (in `grads`, not the workspace) |")
    print("|---|---|---|---|---|---|---|")
    for w, spec, batch in SPECS:
        path = os.path.join(REPO, "benches", "specs", spec)
        ir = subprocess.run(run + ["ir", "--stage", "opt", "--plan", path], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
        code = subprocess.run(run + ["emit", path], cwd=REPO, check=True, capture_output=True,
                              text=True).stdout
        _, minimum, grad_bytes, _ = analyse(ir, batch)
        padded, unpadded = allocated(code, batch)
        print(f"| {w} | {batch} | {unpadded:,} | {padded:,} | {minimum:,} "
              f"| {unpadded / minimum:.2f} | {grad_bytes:,} |")


if __name__ == "__main__":
    main()
