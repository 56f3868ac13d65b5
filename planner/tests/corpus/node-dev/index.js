require("http").createServer((q, r) => r.end("dev")).listen(3000);
