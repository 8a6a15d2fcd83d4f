"""Filter → middleware → handler, on one page.

Middlewares wrap the routing step as a chain built once at start-up, so the
hot path is a few awaits and a dict lookup per update.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from bot.context import Context
from bot.events import Event
from bot.router import HandlerSpec, Router
from bot.services import Services

Next = Callable[[Context], Awaitable[None]]


class Middleware(Protocol):
    async def __call__(self, call_next: Next, ctx: Context) -> None: ...


#: a middleware and its place in the chain (smaller is outer: it runs first)
Placed = tuple[int, Middleware]


class Dispatcher:
    def __init__(
        self,
        services: Services,
        routers: Iterable[Router] = (),
        middlewares: Iterable[Middleware | Placed] = (),
    ) -> None:
        """``middlewares``: ``(order, middleware)`` pairs (``bot.middlewares`` names the
        core's orders); a bare middleware is placed at 0, so a chain given whole stays
        outermost, in its own order, and features' middlewares come inside it."""
        self.services = services
        #: (order, arrival, router): features include theirs at an explicit order
        self._placed: list[tuple[int, int, Router]] = []
        for router in routers:
            self.include(router)
        #: (order, arrival, middleware), kept sorted like the routers
        self._wrapping: list[tuple[int, int, Middleware]] = []
        for item in middlewares:
            order, middleware = item if isinstance(item, tuple) else (0, item)
            self.use(middleware, order=order)
        self._by_type: dict[type[Event], list[HandlerSpec]] = {}
        self._chain: Next | None = None

    def include(self, router: Router, order: int = 50) -> None:
        """Add ``router`` at ``order``: smaller first (the first matching handler wins),
        routers of one order in the order they came."""
        self._placed.append((order, len(self._placed), router))
        self._placed.sort(key=lambda placed: placed[:2])
        self._chain = None

    @property
    def routers(self) -> list[Router]:
        return [router for _, _, router in self._placed]

    def use(self, middleware: Middleware, *, order: int) -> None:
        """Add ``middleware`` at ``order``: smaller is outer (sees the update first);
        middlewares of one order wrap in the order they came."""
        self._wrapping.append((order, len(self._wrapping), middleware))
        self._wrapping.sort(key=lambda placed: placed[:2])
        self._chain = None

    @property
    def middlewares(self) -> list[Middleware]:
        """The chain, outermost first."""
        return [middleware for _, _, middleware in self._wrapping]

    @property
    def middleware_orders(self) -> list[tuple[int, Middleware]]:
        """The chain with each middleware's order, outermost first."""
        return [(order, middleware) for order, _, middleware in self._wrapping]

    @property
    def specs(self) -> list[HandlerSpec]:
        return [spec for router in self.routers for spec in router.specs]

    def freeze(self) -> Next:
        """Index handlers by event type and build the middleware chain."""
        self._by_type = {}
        for spec in self.specs:
            self._by_type.setdefault(spec.event_type, []).append(spec)
        chain: Next = self._route
        for middleware in reversed(self.middlewares):
            chain = _wrap(middleware, chain)
        self._chain = chain
        return chain

    async def feed(self, event: Event) -> Context:
        """Handle one event; returns its context (``ctx.data`` says what happened)."""
        chain = self._chain or self.freeze()
        ctx = Context(event=event, services=self.services)
        await chain(ctx)
        return ctx

    async def _route(self, ctx: Context) -> None:
        for spec in self._by_type.get(type(ctx.event), ()):
            if spec.matches(ctx):
                ctx.data["handler"] = spec.callback.__qualname__
                if spec.admin_only and not ctx.is_bot_admin:
                    ctx.data["refused"] = "admin_only"
                    await ctx.reply(ctx.t("errors.admin_only"))
                    return
                await spec.callback(ctx)
                return
        ctx.data["handler"] = None


def _wrap(middleware: Middleware, call_next: Next) -> Next:
    async def step(ctx: Context) -> None:
        await middleware(call_next, ctx)

    return step
