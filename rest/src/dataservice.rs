//! `/dataservice`: log in and out, users, roles and profiles (AuthService).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tapelib_proto::v1::auth_service_client::AuthServiceClient;
use tapelib_proto::v1::{
    ChangePasswordRequest, CreateUserRequest, DeleteUserRequest, GetProfileRequest,
    ListRolesRequest, ListUsersRequest, LoginRequest, LogoutRequest, PageRequest, Role,
    UpdateProfileRequest,
};

use crate::error::RestError;
use crate::extract::{Body, Caller, PathParam, Query};
use crate::{json as j, AppState};

type Reply = Result<Json<Value>, RestError>;

fn client(s: &AppState) -> AuthServiceClient<tonic::transport::Channel> {
    AuthServiceClient::new(s.channel.clone())
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    username: String,
    password: String,
}

pub async fn login(State(s): State<AppState>, caller: Caller, Body(b): Body<LoginBody>) -> Reply {
    // Log in never uses a token the client might still send.
    let r = client(&s)
        .login(caller.anonymous(LoginRequest {
            username: b.username,
            password: b.password,
        })?)
        .await?
        .into_inner();
    Ok(Json(json!({
        "token": format!("Bearer {}", r.token),
        "expiresAt": j::ts(&r.expires_at),
        "role": j::role(r.role),
    })))
}

pub async fn logout(State(s): State<AppState>, caller: Caller) -> Reply {
    client(&s).logout(caller.request(LogoutRequest {})?).await?;
    Ok(Json(json!({"message": "logged out"})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReg {
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    email_address: String,
    #[serde(default)]
    session_timeout: Option<u64>,
}

pub async fn create_user(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<UserReg>,
) -> Result<(StatusCode, Json<Value>), RestError> {
    let role = Role::from_diva_name(&b.role).map_err(|e| RestError::bad_request(e.to_string()))?;
    let minutes = b
        .session_timeout
        .map_or(0, |m| u32::try_from(m).unwrap_or(u32::MAX));
    let r = client(&s)
        .create_user(caller.request(CreateUserRequest {
            username: b.username,
            password: b.password,
            role: role as i32,
            email_address: b.email_address,
            session_timeout_minutes: minutes,
        })?)
        .await?
        .into_inner();
    let user = r.user.map(|u| j::user(&u)).unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Debug, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub size: Option<u32>,
}

impl Paging {
    pub fn request(&self) -> Option<PageRequest> {
        Some(PageRequest {
            page: self.page.unwrap_or(1),
            size: self.size.unwrap_or(0),
        })
    }
}

pub async fn list_users(
    State(s): State<AppState>,
    caller: Caller,
    Query(p): Query<Paging>,
) -> Reply {
    let r = client(&s)
        .list_users(caller.request(ListUsersRequest { page: p.request() })?)
        .await?
        .into_inner();
    Ok(Json(json!({
        "users": r.users.iter().map(j::user).collect::<Vec<_>>(),
        "page": j::page(&r.page),
    })))
}

#[derive(Debug, Deserialize)]
pub struct UserName {
    #[serde(alias = "userName")]
    username: String,
}

pub async fn delete_user(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<UserName>,
) -> Reply {
    client(&s)
        .delete_user(caller.request(DeleteUserRequest {
            username: q.username,
        })?)
        .await?;
    Ok(Json(json!({"message": "user deleted"})))
}

pub async fn roles(State(s): State<AppState>, caller: Caller) -> Reply {
    let r = client(&s)
        .list_roles(caller.request(ListRolesRequest {})?)
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        r.roles.into_iter().map(j::role).collect(),
    )))
}

pub async fn get_profile(State(s): State<AppState>, caller: Caller) -> Reply {
    let r = client(&s)
        .get_profile(caller.request(GetProfileRequest {})?)
        .await?
        .into_inner();
    Ok(Json(r.user.map(|u| j::user(&u)).unwrap_or(Value::Null)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileBody {
    #[serde(default)]
    email_address: String,
    #[serde(default)]
    session_timeout: Option<u64>,
}

pub async fn put_profile(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<ProfileBody>,
) -> Reply {
    let minutes = b
        .session_timeout
        .map_or(0, |m| u32::try_from(m).unwrap_or(u32::MAX));
    let r = client(&s)
        .update_profile(caller.request(UpdateProfileRequest {
            email_address: b.email_address,
            session_timeout_minutes: minutes,
        })?)
        .await?
        .into_inner();
    Ok(Json(r.user.map(|u| j::user(&u)).unwrap_or(Value::Null)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordBody {
    #[serde(default, alias = "oldPassword", alias = "currentPassword")]
    old_password: String,
    #[serde(alias = "password")]
    new_password: String,
}

pub async fn change_password(
    State(s): State<AppState>,
    caller: Caller,
    PathParam(username): PathParam<String>,
    Body(b): Body<PasswordBody>,
) -> Reply {
    client(&s)
        .change_password(caller.request(ChangePasswordRequest {
            username,
            old_password: b.old_password,
            new_password: b.new_password,
        })?)
        .await?;
    Ok(Json(json!({"message": "password changed"})))
}
