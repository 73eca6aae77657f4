"""Users and agents (admins manage users; supervisors may list agents)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.deps import IntId, AdminUser, SessionDep, SupervisorUser, client_ip
from api.schemas import AgentCreate, AgentPublic, UserCreate, UserPublic, UserUpdate
from api.services import users as svc
from api.services.audit import audit
from api.services.errors import Conflict
from models import Agent, User

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserPublic], summary="用户列表（管理员）/ users")
def list_users(user: AdminUser, db: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in db.scalars(select(User).order_by(User.id))]


@router.post("/users", response_model=UserPublic, status_code=201,
             responses={409: {"description": "用户名已存在"}},
             summary="新增用户（管理员）/ add a user")
def create_user(body: UserCreate, user: AdminUser, db: SessionDep,
                request: Request) -> UserPublic:
    u = svc.create_user(db, user, body.username, body.password, body.role, body.agent_id,
                        body.display_name, ip=client_ip(request), one_time=True)
    db.commit()
    return UserPublic.model_validate(u)


@router.patch("/users/{user_id}", response_model=UserPublic,
              responses={404: {"description": "用户不存在"},
                         409: {"description": "不能取消自己的管理员权限或停用自己"}},
              summary="修改用户：角色、工号、停用、重设密码（管理员）/ change a user")
def update_user(user_id: IntId, body: UserUpdate, user: AdminUser, db: SessionDep,
                request: Request) -> UserPublic:
    u = svc.update_user(db, user, user_id, body.model_dump(exclude_unset=True),
                        client_ip(request))
    db.commit()
    return UserPublic.model_validate(u)


@router.get("/agents", response_model=list[AgentPublic], summary="客服人员 / agents")
def list_agents(user: SupervisorUser, db: SessionDep) -> list[AgentPublic]:
    return [AgentPublic.model_validate(a) for a in db.scalars(select(Agent).order_by(Agent.id))]


@router.post("/agents", response_model=AgentPublic, status_code=201,
             responses={409: {"description": "工号已存在"}},
             summary="新增客服人员（管理员）/ add an agent")
def create_agent(body: AgentCreate, user: AdminUser, db: SessionDep,
                 request: Request) -> AgentPublic:
    if db.get(Agent, body.id) is not None:
        raise Conflict(f"工号 {body.id} 已存在 / agent exists")
    a = Agent(id=body.id, name=body.name or body.id, team=body.team, active=True)
    db.add(a)
    audit(db, user, "agent.create", "agent", body.id, body.model_dump(), client_ip(request))
    db.commit()
    return AgentPublic.model_validate(a)
