"""Forms for the first account, new accounts and teams."""

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group

User = get_user_model()


class AccountForm(forms.Form):
    """A new account: username, optional e-mail, password twice."""

    username = forms.CharField(max_length=150, help_text="Letters, digits and @/./+/-/_ only.")
    email = forms.EmailField(required=False)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken; choose another.")
        return username

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ; type the same one twice.")
        elif p1:
            user = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data

    def save(self, *, is_admin: bool) -> "User":
        data = self.cleaned_data
        create = User.objects.create_superuser if is_admin else User.objects.create_user
        return create(username=data["username"], email=data.get("email", ""), password=data["password1"])


class NewAccountForm(AccountForm):
    """An account an administrator creates, optionally an administrator, optionally in a team."""

    is_admin = forms.BooleanField(required=False, label="Administrator (may create accounts)")
    team = forms.CharField(
        required=False, max_length=150, help_text="People in the same team see each other's datasets and runs."
    )

    def save(self, **kwargs):
        user = super().save(is_admin=self.cleaned_data["is_admin"])
        team_name = self.cleaned_data.get("team", "").strip()
        if team_name:
            team, _ = Group.objects.get_or_create(name=team_name)
            user.groups.add(team)
        return user
