// Keeps the k best-scoring items seen so far (a min-heap on score).
export interface Scored {
  id: number;
  score: number;
}

export class TopK {
  private readonly heap: Scored[] = [];

  constructor(private readonly k: number) {}

  /** The score an item must beat to enter, or -Infinity while there is room. */
  get threshold(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0].score;
  }

  push(item: Scored): void {
    if (this.k <= 0) return;
    if (this.heap.length < this.k) {
      this.heap.push(item);
      this.siftUp(this.heap.length - 1);
    } else if (item.score > this.heap[0].score) {
      this.heap[0] = item;
      this.siftDown(0);
    }
  }

  /** Best first; ties broken by id so results are stable. */
  sorted(): Scored[] {
    return [...this.heap].sort((a, b) => b.score - a.score || a.id - b.id);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].score <= h[i].score) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && h[l].score < h[min].score) min = l;
      if (r < h.length && h[r].score < h[min].score) min = r;
      if (min === i) break;
      [h[min], h[i]] = [h[i], h[min]];
      i = min;
    }
  }
}
