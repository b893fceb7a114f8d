"""Demo workspaces, built for `landmark demo`, the tests and the benchmarks.

- acme.py: "Acme", a believable company with a quarter of OKR history (`build_demo`);
  its people, teams and OKRs are in acme_data.py, its KPIs in acme_kpis.py.
- large.py: "Globex", a synthetic workspace big enough to show whether pages keep
  their speed with size (`build_large`, `build_large_kpis`).
"""
