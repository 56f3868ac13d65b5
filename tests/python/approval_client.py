"""The official Python MCP client against the server: plan a spec, then apply it while the client answers
the server's approval question with ACTION (accept, decline, cancel, or none for a client without
elicitation). Prints one JSON line: the apply result's isError, its text, and the questions asked.

Usage: approval_client.py SERVER_BINARY PROJECT ACTION COMPOSE_YAML
The server's environment (state dir, approval mode) comes from this process's environment."""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client


async def main(binary: str, project: str, action: str, compose_yaml: str) -> None:
    questions: list[str] = []

    async def answer(context, params):
        questions.append(getattr(params, "message", ""))
        if action == "accept":
            return types.ElicitResult(action="accept", content={"approve": True})
        return types.ElicitResult(action=action)

    server = StdioServerParameters(command=binary, args=[], env=dict(os.environ))
    callback = None if action == "none" else answer
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write, elicitation_callback=callback) as session:
            await session.initialize()
            plan = await session.call_tool("plan", {"project": project, "compose_yaml": compose_yaml})
            plan_id = plan.structured_content["plan_id"]
            applied = await session.call_tool("apply", {"project": project, "plan_id": plan_id})
            text = "\n".join(c.text for c in applied.content if getattr(c, "text", None))
            print(json.dumps({"plan_id": plan_id, "is_error": bool(applied.is_error), "text": text,
                              "questions": questions}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
