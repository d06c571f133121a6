# The scripted Ollama (test/fakes) as the compose test's `ollama` service. The build context
# is a temp folder holding fake-ollama.mjs, the esbuild bundle of fake-ollama-main.ts.
FROM node:20-bookworm-slim
COPY fake-ollama.mjs /fake/fake-ollama.mjs
USER node
EXPOSE 11434
CMD ["node", "/fake/fake-ollama.mjs"]
