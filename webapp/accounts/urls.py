from django.contrib.auth import views as auth_views
from django.urls import path

from webapp.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("first/", views.first_account, name="first_account"),
    path("", views.accounts, name="accounts"),
    path("token/", views.api_token, name="api_token"),
    path("token/create/", views.create_api_token, name="create_api_token"),
    path("token/revoke/", views.revoke_api_token, name="revoke_api_token"),
]
