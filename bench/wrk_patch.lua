-- wrk script: the seed's PATCH with the same multipart bytes as ref_prebuilt.
-- (run.sh checks the bytes against `ref_prebuilt URL 0 0 --print-body`.)
-- No response() callback: it would cost wrk a Lua call per reply; wrk counts
-- non-2xx/3xx answers itself (summary.errors.status).
local boundary = "zoomliveBench0123456789a"
local disp = 'Content-Disposition: form-data; name="'
wrk.method = "PATCH"
wrk.headers["Authorization"] = "Bearer x"
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n" .. disp .. 'action"\r\n\r\nstart\r\n'
  .. "--" .. boundary .. "\r\n" .. disp .. 'settings"\r\n\r\n'
  .. '{"active_speaker_name":false,"display_name":"Town hall"}\r\n'
  .. "--" .. boundary .. "--\r\n"

function done(summary)
  io.write(string.format("WRK requests=%d non2xx=%d errors=%d\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
