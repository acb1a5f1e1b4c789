// Attribute getters and the kernel registry.
#include "core/kernel.h"

#include <mutex>

namespace mpc::rt {

namespace {

const char *attrKindName(const AttrValue &v) {
  switch (v.index()) {
  case 0: return "int";
  case 1: return "float";
  case 2: return "string";
  case 3: return "int array";
  case 4: return "float array";
  }
  return "unknown";
}

template <typename T>
const T *getAs(const Attrs &attrs, std::string_view name, const char *wanted, Status *err) {
  const Attr *a = attrs.find(name);
  if (!a) return nullptr;
  if (const T *v = std::get_if<T>(&a->value)) return v;
  if (err && err->isOk())
    *err = Status(StatusCode::kInvalidPlan, "attribute '" + std::string(name) + "' should be " + wanted +
                                                " but is " + attrKindName(a->value));
  return nullptr;
}

}  // namespace

const Attr *Attrs::find(std::string_view name) const {
  for (const Attr &a : attrs_)
    if (a.name == name) return &a;
  return nullptr;
}

int64_t Attrs::getInt(std::string_view name, int64_t dflt, Status *err) const {
  const int64_t *v = getAs<int64_t>(*this, name, "int", err);
  return v ? *v : dflt;
}

double Attrs::getFloat(std::string_view name, double dflt, Status *err) const {
  // An integer attribute is accepted where a float is expected (e.g. alpha = 1).
  if (const Attr *a = find(name))
    if (const int64_t *i = std::get_if<int64_t>(&a->value)) return static_cast<double>(*i);
  const double *v = getAs<double>(*this, name, "float", err);
  return v ? *v : dflt;
}

std::string Attrs::getString(std::string_view name, std::string_view dflt, Status *err) const {
  const std::string *v = getAs<std::string>(*this, name, "string", err);
  return v ? *v : std::string(dflt);
}

std::vector<int64_t> Attrs::getInts(std::string_view name, Status *err) const {
  const auto *v = getAs<std::vector<int64_t>>(*this, name, "int array", err);
  return v ? *v : std::vector<int64_t>{};
}

std::vector<double> Attrs::getFloats(std::string_view name, Status *err) const {
  const auto *v = getAs<std::vector<double>>(*this, name, "float array", err);
  return v ? *v : std::vector<double>{};
}

KernelRegistry &KernelRegistry::global() {
  static KernelRegistry registry;
  return registry;
}

void KernelRegistry::add(KernelEntry entry) {
  // Registration normally happens in static initialisers, before main; the lock
  // covers explicit registerXxxKernels() calls made from several threads.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  entries_.push_back(std::move(entry));
}

void KernelRegistry::addVariadic(std::string op, Device device, KernelFn fn, KernelCheckFn check) {
  KernelEntry e;
  e.op = std::move(op);
  e.device = device;
  e.fn = fn;
  e.check = check;
  e.variadic = true;
  add(std::move(e));
}

const KernelEntry *KernelRegistry::lookup(std::string_view op, Device device,
                                          const std::vector<DType> &dtypes) const {
  const KernelEntry *wildcard = nullptr, *variadic = nullptr;
  for (const KernelEntry &e : entries_) {
    if (e.op != op || e.device != device) continue;
    if (e.variadic) {
      if (!variadic) variadic = &e;
      continue;
    }
    if (e.dtypes.size() != dtypes.size()) continue;
    bool exact = true, matches = true;
    for (size_t i = 0; i < dtypes.size(); ++i) {
      if (e.dtypes[i] == dtypes[i]) continue;
      exact = false;
      if (e.dtypes[i] != DType::kInvalid) {
        matches = false;
        break;
      }
    }
    if (exact) return &e;
    if (matches && !wildcard) wildcard = &e;
  }
  return wildcard ? wildcard : variadic;
}

}  // namespace mpc::rt
