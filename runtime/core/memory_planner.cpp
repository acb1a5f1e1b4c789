#include "core/memory_planner.h"

#include <algorithm>

namespace mpc::rt {

using plan::alignUp;
using plan::kDataAlignment;

bool isInPlaceCapable(std::string_view op) {
  static constexpr std::string_view kOps[] = {
      // unary
      "neg", "abs", "exp", "log", "sqrt", "reciprocal", "tanh", "sigmoid", "relu", "erf", "leaky_relu", "gelu",
      "not",
      // binary with broadcasting (the output can only match the size of a
      // non-broadcast operand)
      "add", "sub", "mul", "div", "max", "min", "pow", "and", "or", "where",
      // a fused chain reads each input block before writing the output block
      "fused_elementwise",
      // same bytes, new shape: sharing the buffer makes it free
      "reshape",
      // elementwise gradients (cpu/grad_elementwise.cpp): dx may take dy's buffer
      "gelu_grad", "dropout_grad"};
  for (std::string_view o : kOps)
    if (o == op) return true;
  return false;
}

int inPlaceOperandPairs(std::string_view op, size_t numInputs, size_t numOutputs) {
  size_t pairs = 0;
  if (op == "unscale_and_check" || op == "clip_grad_norm") pairs = numInputs > 0 ? numInputs - 1 : 0;
  else if (op == "accumulate_grad") pairs = 1;
  return static_cast<int>(std::min(pairs, numOutputs));
}

namespace {

// A buffer: one or more tensors chained by in-place reuse.
struct Buffer {
  uint64_t size = 0;
  int32_t first = 0, last = 0;
  uint64_t offset = 0;
  bool placed = false;
};

bool overlapsInTime(const Buffer &a, const Buffer &b) { return a.first <= b.last && b.first <= a.last; }

// The placed buffers whose lifetimes overlap a query's, without scanning every
// buffer per query (which made planning quadratic: 100,000 kernels took
// minutes). Buffers sit at fixed slots sorted by `first`; a max-tree over the
// slots holds `last` for placed buffers (-1 otherwise), so the candidates
// (first <= q.last, last >= q.first) are found by descending only into
// subtrees that contain one: O((k + 1) log n) for k results.
class PlacedIndex {
public:
  explicit PlacedIndex(const std::vector<Buffer> &buffers) : buffers_(buffers) {
    bySlot_.resize(buffers.size());
    for (size_t i = 0; i < bySlot_.size(); ++i) bySlot_[i] = static_cast<int32_t>(i);
    std::stable_sort(bySlot_.begin(), bySlot_.end(),
                     [&](int32_t a, int32_t b) { return buffers[a].first < buffers[b].first; });
    slotOf_.resize(buffers.size());
    for (size_t s = 0; s < bySlot_.size(); ++s) slotOf_[bySlot_[s]] = static_cast<int32_t>(s);
    size_ = 1;
    while (size_ < bySlot_.size()) size_ *= 2;
    tree_.assign(2 * size_, -1);
  }
  void place(int32_t buffer) {
    size_t i = size_ + static_cast<size_t>(slotOf_[buffer]);
    tree_[i] = buffers_[buffer].last;
    for (i /= 2; i >= 1; i /= 2) tree_[i] = std::max(tree_[2 * i], tree_[2 * i + 1]);
  }
  void overlapping(const Buffer &q, std::vector<const Buffer *> *out) const {
    // Slots [0, end) have first <= q.last.
    size_t end = static_cast<size_t>(
        std::upper_bound(bySlot_.begin(), bySlot_.end(), q.last,
                         [&](int32_t t, int32_t b) { return t < buffers_[b].first; }) -
        bySlot_.begin());
    if (end == 0) return;
    // Iterative descent (an explicit stack: no recursion).
    std::vector<std::pair<size_t, std::pair<size_t, size_t>>> stack = {{1, {0, size_}}};
    while (!stack.empty()) {
      auto [node, range] = stack.back();
      stack.pop_back();
      if (range.first >= end || tree_[node] < q.first) continue;
      if (node >= size_) {
        out->push_back(&buffers_[bySlot_[node - size_]]);
        continue;
      }
      size_t mid = (range.first + range.second) / 2;
      stack.push_back({2 * node + 1, {mid, range.second}});
      stack.push_back({2 * node, {range.first, mid}});
    }
  }

private:
  const std::vector<Buffer> &buffers_;
  std::vector<int32_t> bySlot_, slotOf_;
  std::vector<int32_t> tree_;
  size_t size_ = 1;
};

}  // namespace

void planActivationMemory(std::vector<PlanTensor> &tensors, const std::vector<PlanKernel> &kernels,
                          const std::vector<PlanBinding> &outputs, MemoryPlan *plan) {
  const int32_t n = static_cast<int32_t>(tensors.size());
  const int32_t end = static_cast<int32_t>(kernels.size());
  auto planned = [&](int32_t id) {
    return tensors[id].storage == Storage::kActivation || tensors[id].storage == Storage::kInput;
  };
  *plan = MemoryPlan();
  plan->firstUse.assign(n, 0);
  plan->lastUse.assign(n, -1);
  plan->aliasOf.resize(n);
  for (int32_t i = 0; i < n; ++i) plan->aliasOf[i] = i;

  // Liveness. Inputs are live for the whole run so a caller may set them once
  // and run several times; graph outputs stay live to the end.
  for (int32_t i = 0; i < n; ++i)
    if (tensors[i].storage == Storage::kInput) plan->firstUse[i] = -1, plan->lastUse[i] = end;
  for (int32_t k = 0; k < end; ++k) {
    for (int32_t id : kernels[k].outputs)
      if (tensors[id].storage == Storage::kActivation) plan->firstUse[id] = k, plan->lastUse[id] = k;
    for (int32_t id : kernels[k].inputs)
      if (planned(id)) plan->lastUse[id] = std::max(plan->lastUse[id], k);
  }
  for (const PlanBinding &b : outputs)
    if (planned(b.tensor)) plan->lastUse[b.tensor] = end;

  // In-place reuse: the output of an elementwise op takes the buffer of an
  // activation input of identical dtype and size that dies at this op.
  std::vector<char> donated(n, 0);
  auto canDonate = [&](int32_t in, int32_t out, int32_t k) {
    const PlanTensor &t = tensors[in], &o = tensors[out];
    return t.storage == Storage::kActivation && !donated[in] && plan->lastUse[in] == k && t.dtype == o.dtype &&
           t.nbytes == o.nbytes;
  };
  for (int32_t k = 0; k < end; ++k) {
    const PlanKernel &kern = kernels[k];
    // Per-operand reuse (multi-output ops): output i takes input i's buffer.
    // An input passed twice to the kernel is never donated (the kernel would
    // read its second occurrence after writing the first output).
    const int pairs = inPlaceOperandPairs(kern.op, kern.inputs.size(), kern.outputs.size());
    for (int i = 0; i < pairs; ++i) {
      const int32_t in = kern.inputs[i], out = kern.outputs[i];
      const PlanTensor &o = tensors[out];
      if (o.storage != Storage::kActivation || o.nbytes == 0 || !canDonate(in, out, k)) continue;
      if (std::count(kern.inputs.begin(), kern.inputs.end(), in) != 1) continue;
      if (std::count(kern.outputs.begin(), kern.outputs.end(), out) != 1) continue;
      donated[in] = 1;
      plan->aliasOf[out] = plan->aliasOf[in];
      ++plan->numInPlace;
    }
    if (pairs > 0) continue;
    if (kern.outputs.size() != 1 || !isInPlaceCapable(kern.op)) continue;
    int32_t out = kern.outputs[0];
    const PlanTensor &o = tensors[out];
    if (o.storage != Storage::kActivation || o.nbytes == 0) continue;
    for (int32_t in : kern.inputs) {
      if (!canDonate(in, out, k)) continue;
      donated[in] = 1;
      plan->aliasOf[out] = plan->aliasOf[in];
      ++plan->numInPlace;
      break;
    }
  }

  // One buffer per alias root, live over the union of its members' ranges.
  std::vector<int32_t> bufferOf(n, -1);
  std::vector<Buffer> buffers;
  for (int32_t i = 0; i < n; ++i) {
    if (!planned(i)) continue;
    uint64_t size = alignUp(tensors[i].nbytes, kDataAlignment);
    plan->sumBytes += size;
    int32_t root = plan->aliasOf[i];
    if (root == i) {
      bufferOf[i] = static_cast<int32_t>(buffers.size());
      buffers.push_back({size, plan->firstUse[i], plan->lastUse[i]});
    } else {
      Buffer &b = buffers[bufferOf[root]];
      bufferOf[i] = bufferOf[root];
      b.last = std::max(b.last, plan->lastUse[i]);
    }
  }

  // Greedy by size: biggest first, each at the smallest gap that fits among
  // the already placed buffers whose lifetimes overlap its own.
  std::vector<int32_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    if (buffers[a].size != buffers[b].size) return buffers[a].size > buffers[b].size;
    return buffers[a].first < buffers[b].first;
  });
  std::vector<const Buffer *> live;
  PlacedIndex placedIndex(buffers);
  for (int32_t bi : order) {
    Buffer &buf = buffers[bi];
    if (buf.size == 0) {  // empty tensors need no bytes
      buf.placed = true;
      continue;
    }
    live.clear();
    placedIndex.overlapping(buf, &live);
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const Buffer *o) { return !o->placed || !o->size || !overlapsInTime(buf, *o); }),
               live.end());
    std::sort(live.begin(), live.end(), [](const Buffer *a, const Buffer *b) { return a->offset < b->offset; });
    uint64_t cursor = 0, best = 0, bestGap = UINT64_MAX;
    bool found = false;
    for (const Buffer *other : live) {
      if (other->offset >= cursor) {
        uint64_t gap = other->offset - cursor;
        if (gap >= buf.size && gap < bestGap) best = cursor, bestGap = gap, found = true;
      }
      cursor = std::max(cursor, other->offset + other->size);
    }
    buf.offset = found ? best : cursor;
    buf.placed = true;
    if (buf.size) placedIndex.place(bi);
    plan->arenaBytes = std::max(plan->arenaBytes, buf.offset + buf.size);
  }
  for (int32_t i = 0; i < n; ++i)
    if (planned(i)) tensors[i].arenaOffset = buffers[bufferOf[i]].offset;
}

}  // namespace mpc::rt
