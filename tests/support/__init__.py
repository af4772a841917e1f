"""tests/support: the one place tests and benchmarks get their plumbing from.

What is here, and how to use it:

- ``env`` — ``database_url()`` (the test database as a DATABASE_URL; or any Django database
  dict), ``child_env(**settings)`` (the environment of a child process on the test database and
  test Redis db, with test settings), ``free_ports(n)`` / ``free_port()`` (kernel-picked loopback
  ports; pass ``ports=range(...)`` for a benchmark's documented range), ``BASE_DIR``.
- ``processes`` — real processes with a log file, one readiness wait and a clean stop::

      from tests.support import processes

      with processes.daphne(DB_POOL_MAX_SIZE=20) as server:        # ready once HTTP answers
          status, body = request(server.port, "GET", "/api/v1/me/")
      with processes.daphnes(2) as servers: ...                    # several, stopped together
      engine = processes.race_engine()                             # ready once its loop runs
      worker = processes.celery_worker()                           # ready once Celery says so
      sim = processes.manage("run_exchange_sim", "--port", str(port))
      sim.wait_until(processes.listening(port), what="listening")  # any check, one loop
      sim.kill()  # SIGKILL, as a crash;  sim.stop(): SIGTERM, then SIGKILL after 10 s
      with processes.RedisServer() as redis_server:                 # a PRIVATE redis-server to stop/start
          web = processes.daphne(REDIS_URL=redis_server.url)
          redis_server.restart(3.0)                                 # down 3 s (kill=True: SIGKILL)

  Keyword arguments are settings put in the child's environment (values made strings);
  ``env=`` replaces the whole base environment (benchmarks pass their own database URL).
  A process that dies or is not ready in time raises with the tail of its log.
- ``http`` — ``request(port_or_url, method, path, body, token=...)`` → (status, JSON or text),
  ``token_for(port, username, password)``.
- ``asgi`` — ``asgi_request(app, method, path, body=, headers=)`` / ``asgi_call(...)``: one HTTP
  request through an ASGI app in this process (no server).
- ``browser`` — ``chromium()``: a launched headless Chromium (Playwright), ``CHROMIUM`` for skipif.
- ``ledger`` — ``assert_ledger_balanced(*users, balance=None)``: THE balance == SUM(ledger)
  assertion (every account when no user is named); ``balance_of(user)``; ``balances()``.
- ``threads`` — ``at_once(count, work)``: ``work(i)`` in ``count`` threads released together, each
  on its own database connection; results in order, a thread's exception raised in the caller.
- ``factories`` — factory-boy factories: ``UserFactory`` (funded through the ledger),
  ``StockFactory``, ``RaceFactory`` (any state), ``BetFactory`` (stake debited through the
  ledger), plus ``lock_results`` and ``write_quotes``. New suites add their own factories
  next to their tests, built on these.

Benchmarks import it too (they put the repository root on sys.path): only ``factories`` needs
Django set up when it is imported (it imports the models); the rest reads settings when called.
"""
