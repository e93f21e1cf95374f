"""The catalog pages: find a product, edit it, upload the whole catalog as CSV, see what runs low.
Sign-in, CSRF and the shop's scope as in `views`; every write is a use case in actions.commerce.catalog_admin."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from sanic import Blueprint, Request
from sanic.exceptions import PayloadTooLarge
from sanic.response import HTTPResponse, redirect

from actions import runtime
from actions.commerce import catalog_admin
from actions.commerce.catalog_admin import InvalidProduct, ProductForm, StockMovedMeanwhile
from actions.commerce.catalog_csv import OPTIONAL, REQUIRED, CatalogFileError
from actions.commerce.errors import NotFound
from actions.commerce.model import CatalogEntry
from actions.db import catalog_queries as store
from actions.web.admin.sessions import StaffSession
from actions.web.admin.views import MAX_PAGE, SESSION_COOKIE, back_to, member, page, signed_in, staff_only

bp = Blueprint("admin_catalog", url_prefix="/admin/catalog")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
LOW_STOCK_DEFAULT = 5


def _arg(request: Request, name: str, limit: int = 100) -> str:
    return (request.args.get(name) or "").replace("\x00", "").strip()[:limit]  # PostgreSQL refuses NUL


def _number(text: str, default: int, most: int) -> int:
    return min(most, int(text)) if text.isascii() and text.isdigit() and len(text) < 10 else default


@bp.get("")
@staff_only
async def catalog(request: Request, staff: StaffSession) -> HTTPResponse:
    words, category = _arg(request, "q"), _arg(request, "category")
    shown = _arg(request, "shown") if _arg(request, "shown") in store.SHOWN else "all"
    number = max(1, _number(_arg(request, "page"), 1, MAX_PAGE))
    async with runtime.current().sessions() as session:
        categories = await store.categories(session, staff.tenant_id)
        found = await store.products(session, staff.tenant_id, words, category, shown, number)
    filters = {"q": words, "category": category, "shown": shown}
    return page(
        request, "catalog.html", page_=found, filters=filters, query=urlencode(filters), categories=categories,
        shown_choices=store.SHOWN,
    )  # fmt: skip


@bp.get("/products/<product_id:id>")
@staff_only
async def product_page(request: Request, staff: StaffSession, product_id: int) -> HTTPResponse:
    try:
        entry = await catalog_admin.product(runtime.current().uow(), member(staff), product_id)
    except NotFound:
        return page(request, "not_found.html", status=404, what=f"Product {product_id}")
    return await _product_form(request, staff, entry, _form_of(entry))


@bp.post("/products/<product_id:id>")
@staff_only
async def edit(request: Request, staff: StaffSession, product_id: int) -> HTTPResponse:
    rt, form = runtime.current(), _typed(request)
    try:
        done = await catalog_admin.edit_product(rt.uow(), member(staff), product_id, form)
    except NotFound:
        return page(request, "not_found.html", status=404, what=f"Product {product_id}")
    except InvalidProduct as e:
        entry = await catalog_admin.product(rt.uow(), member(staff), product_id)
        return await _product_form(request, staff, entry, form, errors=e.errors, status=400)
    except StockMovedMeanwhile as e:
        entry = await catalog_admin.product(rt.uow(), member(staff), product_id)
        typed = ProductForm(**{**form.__dict__, "stock_shown": str(e.now)})
        return await _product_form(request, staff, entry, typed, errors={"stock": str(e)}, status=409)
    return back_to(f"/admin/catalog/products/{product_id}", f"✓ {done}")


def _typed(request: Request) -> ProductForm:
    field = lambda name: request.form.get(name) or ""  # noqa: E731
    return ProductForm(
        name=field("name"), description=field("description"), price=field("price"), stock=field("stock"),
        image_url=field("image_url"), visible=bool(request.form.get("visible")), stock_shown=field("stock_shown"),
    )  # fmt: skip


def _form_of(entry: CatalogEntry) -> ProductForm:
    return ProductForm(
        entry.name, entry.description, entry.price.format().removeprefix(f"{entry.price.currency} ").replace(",", ""),
        str(entry.stock), entry.image_url or "", entry.visible, str(entry.stock),
    )  # fmt: skip


async def _product_form(
    request: Request,
    staff: StaffSession,
    entry: CatalogEntry,
    form: ProductForm,
    errors: dict | None = None,
    status: int = 200,
) -> HTTPResponse:
    async with runtime.current().sessions() as session:
        changes = await store.history(session, staff.tenant_id, entry.id)
    context = {"product": entry, "form": form, "errors": errors or {}, "history": changes}
    return page(request, "product.html", status=status, **context)


@bp.get("/low-stock")
@staff_only
async def low_stock(request: Request, staff: StaffSession) -> HTTPResponse:
    at_most = _number(_arg(request, "at_most"), LOW_STOCK_DEFAULT, 1_000_000)
    async with runtime.current().sessions() as session:
        running_low = await store.low_stock(session, staff.tenant_id, at_most)
    return page(request, "low_stock.html", products=running_low, at_most=at_most, limit=store.LOW_STOCK_LIMIT)


@bp.get("/upload")
@staff_only
async def upload_form(request: Request, staff: StaffSession) -> HTTPResponse:
    return _upload_page(request)


def _upload_page(request: Request, errors: list | None = None, status: int = 200) -> HTTPResponse:
    columns = {"required": REQUIRED, "optional": OPTIONAL}
    return page(request, "catalog_upload.html", status=status, errors=errors or [], columns=columns)


@bp.post("/upload", stream=True)
async def upload(request: Request) -> HTTPResponse:
    """The body is read here, after the session is checked: a catalog may be bigger than other requests."""
    request.ctx.staff = await signed_in(request.cookies.get(SESSION_COOKIE))
    if request.ctx.staff is None:
        return redirect(f"/admin/login?next={quote(request.path)}", status=303)
    too_big = catalog_admin.unreadable(f"the file is bigger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB").errors
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
        return _upload_page(request, too_big, status=413)
    request.stream.request_max_size = MAX_UPLOAD_BYTES
    try:
        await request.receive_body()
    except PayloadTooLarge:
        return _upload_page(request, too_big, status=413)
    return await _upload(request)


@staff_only
async def _upload(request: Request, staff: StaffSession) -> HTTPResponse:
    sent = request.files.get("file")
    if sent is None or not sent.body:
        return _upload_page(request, catalog_admin.unreadable("choose a CSV file to upload").errors, status=400)
    try:
        text = sent.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        reason = "the file is not UTF-8 text: in your spreadsheet, save it as 'CSV UTF-8'"
        return _upload_page(request, catalog_admin.unreadable(reason).errors, status=400)
    try:
        done = await catalog_admin.upload_catalog(runtime.current().uow(), member(staff), text)
    except CatalogFileError as e:
        return _upload_page(request, e.errors, status=400)
    notice = (
        f"✓ Imported {done.products} products in {done.categories} categories. The bot uses them from the next message."
    )
    return back_to("/admin/catalog", notice)
