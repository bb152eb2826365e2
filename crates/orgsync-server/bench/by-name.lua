-- wrk script: GET /entities/by-name for a random generated user.
-- BENCH_USERS must match the --users of catalog_bench.
local users = tonumber(os.getenv("BENCH_USERS") or "90000")

function setup(thread)
  math.randomseed(os.time() + tonumber(tostring(thread):match("0x(%x+)") or "0", 16))
end

function request()
  local index = math.random(0, users - 1)
  local path = string.format("/api/catalog/entities/by-name/user/default/user-%06d", index)
  return wrk.format("GET", path)
end
