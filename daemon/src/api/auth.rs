//! `AuthService`: log in and out, users, passwords, profiles and roles. The caller's
//! identity comes from the enforcement layer (`authz`), which already checked the role
//! the method needs.

use std::sync::Arc;

use tapelib_proto::v1::auth_service_server::AuthService;
use tapelib_proto::v1::{
    ChangePasswordRequest, ChangePasswordResponse, CreateUserRequest, CreateUserResponse,
    DeleteUserRequest, DeleteUserResponse, GetProfileRequest, GetProfileResponse, ListRolesRequest,
    ListRolesResponse, ListUsersRequest, ListUsersResponse, LoginRequest, LoginResponse,
    LogoutRequest, LogoutResponse, Role, UpdateProfileRequest, UpdateProfileResponse, User,
};
use tonic::{Request, Response, Status};

use super::authz::{caller_of, client_ip};
use super::{convert, paging};
use crate::auth::{role_of, Auth, AuthError};
use crate::catalog::{UserRecord, MAX_PAGE};

/// The `AuthService` implementation.
#[derive(Debug, Clone)]
pub struct AuthApi {
    auth: Arc<Auth>,
}

impl AuthApi {
    pub fn new(auth: Arc<Auth>) -> Self {
        AuthApi { auth }
    }

    /// Runs `f` with the auth state on the blocking pool (argon2 and sled block).
    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Auth) -> Result<R, AuthError> + Send + 'static,
    ) -> Result<R, Status> {
        let auth = self.auth.clone();
        tokio::task::spawn_blocking(move || f(&auth))
            .await
            .map_err(|e| Status::internal(format!("auth task failed: {e}")))?
            .map_err(Status::from)
    }
}

fn user(u: UserRecord) -> User {
    User {
        username: u.username,
        role: role_of(&u.role) as i32,
        email_address: u.email_address,
        session_timeout_minutes: u.session_timeout_minutes,
        created: Some(convert::offset_timestamp(u.created)),
        last_login: u.last_login.map(convert::offset_timestamp),
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    #[tracing::instrument(skip_all, fields(user = %request.get_ref().username))]
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let client = client_ip(&request);
        let LoginRequest { username, password } = request.into_inner();
        let t = self
            .run(move |a| a.login(&username, &password, client))
            .await?;
        Ok(Response::new(LoginResponse {
            token: t.token,
            expires_at: Some(convert::offset_timestamp(t.expires_at)),
            role: t.role as i32,
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn logout(
        &self,
        request: Request<LogoutRequest>,
    ) -> Result<Response<LogoutResponse>, Status> {
        let caller = caller_of(&request)?;
        self.run(move |a| a.logout(&caller)).await?;
        Ok(Response::new(LogoutResponse {}))
    }

    #[tracing::instrument(skip_all, fields(user = %request.get_ref().username))]
    async fn create_user(
        &self,
        request: Request<CreateUserRequest>,
    ) -> Result<Response<CreateUserResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.into_inner();
        let role = Role::try_from(r.role).unwrap_or(Role::Unspecified);
        let created = self
            .run(move |a| {
                a.create_user(
                    &caller,
                    &r.username,
                    &r.password,
                    role,
                    &r.email_address,
                    r.session_timeout_minutes,
                )
            })
            .await?;
        Ok(Response::new(CreateUserResponse {
            user: Some(user(created)),
        }))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        let page = request.into_inner().page;
        let all = self
            .run(|a| Ok(a.list_users(None, MAX_PAGE)?.items))
            .await?;
        let (items, info) = paging::paginate(all, page.as_ref());
        Ok(Response::new(ListUsersResponse {
            users: items.into_iter().map(user).collect(),
            page: Some(info),
        }))
    }

    #[tracing::instrument(skip_all, fields(user = %request.get_ref().username))]
    async fn delete_user(
        &self,
        request: Request<DeleteUserRequest>,
    ) -> Result<Response<DeleteUserResponse>, Status> {
        let caller = caller_of(&request)?;
        let username = request.into_inner().username;
        self.run(move |a| a.delete_user(&caller, &username)).await?;
        Ok(Response::new(DeleteUserResponse {}))
    }

    #[tracing::instrument(skip_all, fields(user = %request.get_ref().username))]
    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.into_inner();
        self.run(move |a| {
            a.change_password(&caller, &r.username, &r.old_password, &r.new_password)
        })
        .await?;
        Ok(Response::new(ChangePasswordResponse {}))
    }

    async fn get_profile(
        &self,
        request: Request<GetProfileRequest>,
    ) -> Result<Response<GetProfileResponse>, Status> {
        let caller = caller_of(&request)?;
        let u = self.run(move |a| a.profile(&caller)).await?;
        Ok(Response::new(GetProfileResponse {
            user: Some(user(u)),
        }))
    }

    async fn update_profile(
        &self,
        request: Request<UpdateProfileRequest>,
    ) -> Result<Response<UpdateProfileResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.into_inner();
        let u = self
            .run(move |a| a.update_profile(&caller, &r.email_address, r.session_timeout_minutes))
            .await?;
        Ok(Response::new(UpdateProfileResponse {
            user: Some(user(u)),
        }))
    }

    async fn list_roles(
        &self,
        _request: Request<ListRolesRequest>,
    ) -> Result<Response<ListRolesResponse>, Status> {
        Ok(Response::new(ListRolesResponse {
            roles: Role::ALL.iter().map(|r| *r as i32).collect(),
        }))
    }
}
