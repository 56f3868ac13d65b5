require("http").createServer((q,r)=>r.end("one")).listen(process.env.PORT);
