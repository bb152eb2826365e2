-- wrk script: GET /entities/by-query for the users of a random group
-- (filter on kind and the memberOf relation, first page of 20, with the
-- total count). BENCH_GROUPS must match the --groups of catalog_bench.
local groups = tonumber(os.getenv("BENCH_GROUPS") or "10000")

function request()
  local index = math.random(0, groups - 1)
  local path = string.format(
    "/api/catalog/entities/by-query?filter=kind=user,relations.memberof=group:default/team-%05d&limit=20",
    index)
  return wrk.format("GET", path)
end
