-- The seed article's EnvoyFilter + Lua gray router (sticky cookie, then
-- priority-ordered rules, then the service's default version; Set-Cookie on
-- the response), as an envoy.filters.http.lua inline script. It is the
-- baseline of `make bench`'s lua_seed setup and mirrors
-- testdata/seed-gray-router.json: lane header x-target-version, default v1,
-- gray v2. Departures from the article: only known versions are trusted in
-- the sticky cookie; the client's x-target-version is replaced, never
-- appended to; cookie names are matched whole; the percentage hashes
-- x-user-id, else the session-id cookie, and does not match without either;
-- only gray (v2) decisions get a sticky cookie.

local find, match, byte, gsub, lower = string.find, string.match, string.byte, string.gsub, string.lower

local LANE_HEADER = "x-target-version"
local META_NS = "envoy.filters.http.lua"
local META_KEY = "set_version_cookie"
local HASH_MOD = 2147483647

-- Gray rules per service (the first label of :authority, as in the article;
-- looked up lower-cased when the label as sent is not found).
local gray_rules = {
  myapp = {
    default_version = "v1",
    sticky_versions = { "v2" }, -- decisions that get a Set-Cookie
    rules = {
      { name = "internal-test", priority = 100, type = "header", version = "v2",
        conditions = { { "x-gray-tag", "internal-test" }, { "x-gray-token", "secret-12345" } } },
      { name = "user-tail-012", priority = 90, type = "user_id_tail", version = "v2",
        tails = { "0", "1", "2" } },
      { name = "beijing-region", priority = 80, type = "header", version = "v2",
        conditions = { { "x-user-region", "beijing" } } },
      { name = "ios-platform", priority = 70, type = "header", version = "v2",
        conditions = { { "x-app-platform", "ios" }, { "x-app-version", pattern = "^3%." } } },
      { name = "percentage-30", priority = 10, type = "percentage", version = "v2",
        percent = 30, keys = { { "header", "x-user-id" }, { "cookie", "session-id" } } },
    },
  },
}

-- Cookie lookup: the first cookie named exactly name, in one or more cookie
-- headers (headers:get joins repeated headers with ",").
local function cookie_patterns(name)
  local esc = gsub(name, "%p", "%%%0")
  return { "^%s*" .. esc .. "=([^;,%s]*)", "[;,]%s*" .. esc .. "=([^;,%s]*)" }
end

local function cookie_get(cookie, pats)
  local v = match(cookie, pats[1])
  if v == nil then
    v = match(cookie, pats[2])
  end
  return v
end

local STICKY = cookie_patterns("x-sticky-version")
local STICKY_SET_COOKIE = {}   -- version -> Set-Cookie value
local known_versions = {}

-- The article's string hash.
local function hash_string(str)
  local hash = 0
  for i = 1, #str do
    hash = (hash * 31 + byte(str, i)) % HASH_MOD
  end
  return hash
end

-- Compile one rule into match(headers, cookie) -> bool.
local function compile_rule(rule)
  local t = rule.type
  if t == "header" then
    local conds = rule.conditions
    local n = #conds
    return function(h)
      for i = 1, n do
        local c = conds[i]
        local v = h:get(c[1])
        if v == nil then
          return false
        end
        if c.pattern then
          if not find(v, c.pattern) then
            return false
          end
        elseif v ~= c[2] then
          return false
        end
      end
      return true
    end
  elseif t == "user_id_tail" then
    local tails = {}
    for _, s in ipairs(rule.tails) do
      tails[byte(s)] = true
    end
    return function(h)
      local uid = h:get("x-user-id")
      return uid ~= nil and #uid > 0 and tails[byte(uid, -1)] == true
    end
  elseif t == "percentage" then
    local threshold = (rule.percent / 100) * HASH_MOD
    local keys = {}
    for i, k in ipairs(rule.keys) do
      keys[i] = { cookie = k[1] == "cookie", name = k[2],
                  pats = k[1] == "cookie" and cookie_patterns(k[2]) or nil }
    end
    local n = #keys
    return function(h, cookie)
      for i = 1, n do
        local k = keys[i]
        local v
        if k.cookie then
          if cookie ~= nil then
            v = cookie_get(cookie, k.pats)
          end
        else
          v = h:get(k.name)
        end
        if v ~= nil then
          return hash_string(v) < threshold
        end
      end
      return false
    end
  end
  error("unknown gray rule type " .. tostring(t))
end

-- Precompute per service: rules sorted by priority and compiled, the sticky
-- versions, the known versions and their Set-Cookie values.
for _, config in pairs(gray_rules) do
  table.sort(config.rules, function(a, b) return a.priority > b.priority end)
  for _, rule in ipairs(config.rules) do
    rule.match = compile_rule(rule)
    known_versions[rule.version] = true
  end
  known_versions[config.default_version] = true
  local sticky = {}
  for _, v in ipairs(config.sticky_versions) do
    sticky[v] = true
    STICKY_SET_COOKIE[v] = "x-sticky-version=" .. v ..
      "; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax"
  end
  config.sticky = sticky
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local cookie = headers:get("cookie")

  -- 1. Sticky cookie: a known version is kept, no new cookie.
  if cookie ~= nil then
    local sticky = cookie_get(cookie, STICKY)
    if sticky ~= nil and known_versions[sticky] then
      headers:replace(LANE_HEADER, sticky)
      return
    end
  end

  -- 2. The service's configuration; an unmanaged service is not dyed, but a
  -- client's lane header does not pass either.
  local host = headers:get(":authority")
  local service = host and match(host, "^[^.:]+")
  local config = service and (gray_rules[service] or gray_rules[lower(service)])
  if config == nil then
    headers:remove(LANE_HEADER)
    return
  end

  -- 3. Rules in priority order.
  local target = config.default_version
  local rules = config.rules
  for i = 1, #rules do
    local rule = rules[i]
    if rule.match(headers, cookie) then
      target = rule.version
      break
    end
  end

  -- 4. The routing header, exactly one value.
  headers:replace(LANE_HEADER, target)

  -- 5. Mark the response for a sticky cookie.
  if config.sticky[target] then
    handle:streamInfo():dynamicMetadata():set(META_NS, META_KEY, target)
  end
end

function envoy_on_response(handle)
  local meta = handle:streamInfo():dynamicMetadata():get(META_NS)
  if meta ~= nil then
    local v = meta[META_KEY]
    if v ~= nil then
      handle:headers():add("set-cookie", STICKY_SET_COOKIE[v])
    end
  end
end
