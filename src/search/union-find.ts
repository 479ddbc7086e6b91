// Disjoint sets over image ids: duplicates found pair by pair become groups.
export class UnionFind {
  private readonly parent = new Map<number, number>();

  find(x: number): number {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root)!;
    // Path compression keeps later finds short.
    let node = x;
    while (node !== root) {
      const next = this.parent.get(node) ?? root;
      this.parent.set(node, root);
      node = next;
    }
    if (!this.parent.has(root)) this.parent.set(root, root);
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller id becomes the root, so groups are deterministic.
    if (ra !== rb) this.parent.set(Math.max(ra, rb), Math.min(ra, rb));
  }

  /** Every set with two or more members, ids ascending, sets ordered by their smallest id. */
  groups(): number[][] {
    const byRoot = new Map<number, number[]>();
    for (const id of this.parent.keys()) {
      const root = this.find(id);
      const members = byRoot.get(root) ?? [];
      members.push(id);
      byRoot.set(root, members);
    }
    return [...byRoot.values()]
      .filter((g) => g.length > 1)
      .map((g) => g.sort((a, b) => a - b))
      .sort((a, b) => a[0] - b[0]);
  }
}
