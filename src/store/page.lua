-- One page of `jobq ls` that starts after the last job the previous page listed, so a page
-- does not shift when jobs are taken, added or removed in between (an index would: issue 9
-- item 13 measured 5 jobs never listed while workers took jobs).
-- KEYS: the state's key (the queued list, or the state's sorted set)[, with 'queued': ranked]
-- ARGV: kind ('list' | 'queued' | 'asc' | 'desc'), count, after_id ('' = from the start),
--       after_score[, with 'queued': the score where number 5 begins in `ranked`]
-- Returns { id1, score1, id2, score2, ... } in listing order (scores are '' for the list).
local key, kind, count, after, ascore = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local out = {}

-- The plain list, in listing order tail first (RPOP takes from the tail): the page goes on
-- toward the head from `after`. If `after` is gone it was taken, and so was everything listed
-- before it (the list is first in, first out): the page starts at the tail again.
local function list_page(list, after, want)
  local from = redis.call('LLEN', list) - 1
  if after ~= '' then
    local pos = redis.call('LPOS', list, after, 'RANK', -1)
    if pos then
      from = pos - 1
    end
  end
  if from < 0 or want <= 0 then
    return
  end
  local ids = redis.call('LRANGE', list, math.max(from - want + 1, 0), from)
  for i = #ids, 1, -1 do
    out[#out + 1] = ids[i]
    out[#out + 1] = ''
  end
end

-- A sorted set between `lo` and `hi`: (score, id) orders every member (equal scores sort by
-- id), so "after the cursor" is exact however the set changed. Members with the cursor's score
-- are skipped up to and including its id.
local function set_page(set, asc, lo, hi, after, ascore)
  local cursor_score = tonumber(ascore)
  local offset = 0
  while #out < 2 * count do
    local page
    if asc then
      page = redis.call('ZRANGEBYSCORE', set, lo, hi, 'WITHSCORES', 'LIMIT', offset, count)
    else
      page = redis.call('ZREVRANGEBYSCORE', set, hi, lo, 'WITHSCORES', 'LIMIT', offset, count)
    end
    if #page == 0 then
      break
    end
    for i = 1, #page, 2 do
      local id, score = page[i], page[i + 1]
      local later = after == '' or tonumber(score) ~= cursor_score
        or (asc and id > after) or ((not asc) and id < after)
      if later and #out < 2 * count then
        out[#out + 1] = id
        out[#out + 1] = score
      end
    end
    offset = offset + #page / 2
  end
end

if kind == 'list' then
  list_page(key, after, count)
  return out
end

if kind == 'queued' then
  -- Queued jobs in the order workers take them (fetch.lua): numbers 1-4 from `ranked`, then
  -- the plain list (5 and no number), then numbers 6-10. The cursor's score says which of the
  -- three it is in: none for the list.
  local ranked, five = KEYS[2], ARGV[5]
  local part = 1
  if after ~= '' then
    if ascore == '' then
      part = 2
    elseif tonumber(ascore) >= tonumber(five) then
      part = 3
    end
  end
  if part == 1 then
    local lo = after ~= '' and ascore or '-inf'
    set_page(ranked, true, lo, '(' .. five, after, ascore)
  end
  if part <= 2 then
    list_page(key, part == 2 and after or '', count - #out / 2)
  end
  if part == 3 then
    set_page(ranked, true, ascore, '+inf', after, ascore)
  else
    set_page(ranked, true, five, '+inf', '', '')
  end
  return out
end

if after ~= '' then
  if kind == 'asc' then
    set_page(key, true, ascore, '+inf', after, ascore)
  else
    set_page(key, false, '-inf', ascore, after, ascore)
  end
elseif kind == 'asc' then
  set_page(key, true, '-inf', '+inf', '', '')
else
  set_page(key, false, '-inf', '+inf', '', '')
end
return out
